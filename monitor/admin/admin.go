package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Handler serves the admin API (see the package documentation for the
// routes). Mount it at Prefix. It is safe for concurrent use.
type Handler struct {
	cfg    config
	mux    *http.ServeMux
	routes []route

	mu      sync.Mutex
	actions []Action // ring of at most cfg.actionLimit, oldest first
	seq     uint64
	subs    map[chan streamEvent]struct{}

	streams atomic.Int32
	done    chan struct{}
	once    sync.Once
	// panics counts panics recovered in route handlers.
	panics atomic.Uint64
}

// Route describes one route of the API.
type Route struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	// Mutating routes need the authorizer and a reason.
	Mutating bool   `json:"mutating"`
	Summary  string `json:"summary"`
}

type route struct {
	Route
	needs string // which object it needs: "pool", "bridge", …
	fn    func(w http.ResponseWriter, r *http.Request, who string)
}

// New returns the handler over the objects given by the options. It starts
// nothing. A bad option gets an error wrapping ErrInvalidConfig naming it.
func New(opts ...Option) (*Handler, error) {
	cfg := defaults()
	for _, o := range opts {
		if o != nil {
			o.apply(&cfg)
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.started.IsZero() {
		cfg.started = cfg.clock.Now()
	}
	if cfg.replica == "" && cfg.fleet != nil {
		cfg.replica = cfg.fleet.Replica()
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), done: make(chan struct{}), subs: map[chan streamEvent]struct{}{}}
	h.routes = h.table()
	for i := range h.routes {
		rt := &h.routes[i]
		h.mux.Handle(rt.Path, h.wrap(rt))
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no route %s %s (see GET %s/routes)", r.Method, r.URL.Path, Base))
	})
	return h, nil
}

// Routes returns the API's route table, in the order of the package
// documentation.
func Routes() []Route {
	h := &Handler{}
	t := h.table()
	out := make([]Route, len(t))
	for i := range t {
		out[i] = t[i].Route
	}
	return out
}

// Close ends every event stream and refuses new ones. The other routes go on
// answering. Safe to call more than once.
func (h *Handler) Close() error {
	h.once.Do(func() { close(h.done) })
	return nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			h.panics.Add(1)
			h.cfg.logger.Error("ERROR admin handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v))
			writeError(w, http.StatusInternalServerError, "internal error")
		}
	}()
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) wrap(rt *route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != rt.Method && !(rt.Method == http.MethodGet && r.Method == http.MethodHead) {
			allow := rt.Method
			if rt.Method == http.MethodGet {
				allow = "GET, HEAD"
			}
			w.Header().Set("Allow", allow)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, rt.Path, allow))
			return
		}
		auth := h.cfg.readAuth
		if rt.Mutating {
			auth = h.cfg.auth
			if auth == nil {
				h.cfg.logger.Info("admin action refused: no authorizer configured", "route", rt.Path, "remote", r.RemoteAddr)
				writeError(w, http.StatusForbidden, "admin actions are disabled: the host configured no authorizer (set a token)")
				return
			}
		}
		who := ""
		if auth != nil {
			var err error
			who, err = auth.Authorize(r)
			if err != nil {
				h.cfg.logger.Info("admin request refused", "route", rt.Path, "remote", r.RemoteAddr, "error", err.Error())
				if errors.Is(err, ErrUnauthenticated) {
					w.Header().Set("WWW-Authenticate", `Bearer realm="bumba-admin"`)
					writeError(w, http.StatusUnauthorized, err.Error())
					return
				}
				writeError(w, http.StatusForbidden, err.Error())
				return
			}
		}
		if !h.has(rt.needs) {
			writeError(w, http.StatusNotImplemented, fmt.Sprintf("%s is not available: the host gave the admin API no %s", rt.Path, rt.needs))
			return
		}
		rt.fn(w, r, who)
	})
}

func (h *Handler) has(needs string) bool {
	switch needs {
	case "pool":
		return h.cfg.pool != nil
	case "bridge":
		return h.cfg.bridge != nil
	case "rollout":
		return h.cfg.rollout != nil
	case "rollbacks":
		return h.cfg.rollbacks != nil
	case "monitor":
		return h.cfg.monitor != nil
	}
	return true
}

// errorBody is every error's JSON.
type errorBody struct {
	Error string `json:"error"`
	// Would is, for a rollback refused for want of confirmation, what it
	// would do.
	Would string `json:"would,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		status = http.StatusInternalServerError
		buf.Reset()
		_ = json.NewEncoder(&buf).Encode(errorBody{Error: "encoding the answer: " + err.Error()})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, errorBody{Error: msg})
}

func writeText(w http.ResponseWriter, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, s)
}

// decodeError is a refused body, with its status.
type decodeError struct {
	status int
	msg    string
}

func (e *decodeError) Error() string { return e.msg }

// decode reads r's body into dst strictly: at most MaxBodyBytes, JSON only,
// no unknown field, nothing after the object. An empty body is {}.
func decode(w http.ResponseWriter, r *http.Request, dst any) *decodeError {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, _ := strings.Cut(ct, ";")
		if mt = strings.TrimSpace(strings.ToLower(mt)); mt != "application/json" {
			return &decodeError{http.StatusUnsupportedMediaType, fmt.Sprintf("content type %q is not application/json (send Content-Type: application/json)", mt)}
		}
	}
	body := http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	data, err := io.ReadAll(body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &decodeError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes)}
		}
		return &decodeError{http.StatusBadRequest, "reading the request body: " + err.Error()}
	}
	return decodeBytes(data, dst)
}

// decodeBytes is decode's strict JSON part (fuzzed).
func decodeBytes(data []byte, dst any) *decodeError {
	if len(data) > MaxBodyBytes {
		return &decodeError{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes)}
	}
	if len(bytes.TrimSpace(data)) == 0 {
		data = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return &decodeError{http.StatusBadRequest, "bad JSON body: " + jsonMessage(err)}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &decodeError{http.StatusBadRequest, "bad JSON body: data after the JSON object"}
	}
	return nil
}

func jsonMessage(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	case errors.As(err, &te):
		if te.Field != "" {
			return fmt.Sprintf("field %q must be a %s, not a JSON %s", te.Field, te.Type.String(), te.Value)
		}
		return fmt.Sprintf("the body must be a JSON object, not a JSON %s", te.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "the JSON is truncated"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		return "unknown field " + f
	}
	return strings.TrimPrefix(msg, "json: ")
}

// queryLimit reads ?limit=N (0 when absent).
func queryLimit(r *http.Request) (int, error) {
	s := r.URL.Query().Get("limit")
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("limit %q is not a positive integer", s)
	}
	return n, nil
}

// lastN returns the newest n of s (all when n is 0), never nil.
func lastN[T any](s []T, n int) []T {
	if s == nil {
		return []T{}
	}
	if n > 0 && n < len(s) {
		return s[len(s)-n:]
	}
	return s
}

// parsePeriod reads a period: a Go duration ("1h", "90m") or a day count
// ("7d", the seed's --period=7d).
func parsePeriod(s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
		if days > 400 {
			err = errors.New("too long")
		}
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("period %q is not a positive duration (like 1h, 30m or 7d)", s)
	}
	return d, nil
}
