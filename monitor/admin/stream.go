package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/monitor"
)

// Event types of the stream.
var streamTypes = []string{"hello", "sample", "alert", "transition", "decision", "rollback", "action"}

type streamEvent struct {
	typ  string
	data any
}

// TransitionEvent is a "transition" event: a change of the bridge's mode or
// percentage.
type TransitionEvent struct {
	Seq            uint64    `json:"seq"`
	At             time.Time `json:"at"`
	Reason         string    `json:"reason"`
	From           string    `json:"from"`
	To             string    `json:"to"`
	FromPercentage float64   `json:"fromPercentage"`
	ToPercentage   float64   `json:"toPercentage"`
}

// publish hands e to every stream, never blocking (a full stream drops it).
func (h *Handler) publish(e streamEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

func (h *Handler) getEvents(w http.ResponseWriter, r *http.Request, _ string) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "this server cannot stream")
		return
	}
	want := map[string]bool{}
	if s := r.URL.Query().Get("types"); s != "" {
		for _, t := range strings.Split(s, ",") {
			t = strings.TrimSpace(t)
			known := false
			for _, k := range streamTypes {
				known = known || k == t
			}
			if !known {
				writeError(w, http.StatusBadRequest, fmt.Sprintf("unknown event type %q (known: %s)", t, strings.Join(streamTypes, ", ")))
				return
			}
			want[t] = true
		}
	}
	select {
	case <-h.done:
		writeError(w, http.StatusServiceUnavailable, "the admin API is closing")
		return
	default:
	}
	if n := h.streams.Add(1); int(n) > h.cfg.maxStreams {
		h.streams.Add(-1)
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("too many event streams open (at most %d)", h.cfg.maxStreams))
		return
	}
	defer h.streams.Add(-1)

	ch := make(chan streamEvent, StreamBuffer)
	var dropped atomic.Uint64
	send := func(e streamEvent) {
		select {
		case ch <- e:
		default:
			dropped.Add(1)
		}
	}
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}()
	if ob, ok := h.cfg.bridge.(BridgeObservable); ok && h.cfg.bridge != nil {
		if remove, err := ob.AddObserver(bridge.ObserverFuncs{Transition: func(t bridge.Transition) {
			send(streamEvent{typ: "transition", data: TransitionEvent{Seq: t.Seq, At: t.At, Reason: t.Reason.String(),
				From: modeName(t.From), To: modeName(t.To), FromPercentage: t.FromPercentage, ToPercentage: t.ToPercentage}})
		}}); err == nil {
			defer remove()
		}
	}
	if as, ok := h.cfg.monitor.(AlertSource); ok && h.cfg.monitor != nil {
		remove := as.AddListener(func(a monitor.Alert) { send(streamEvent{typ: "alert", data: a}) })
		defer remove()
	}

	ticker := h.cfg.clock.Ticker(h.cfg.streamEvery)
	defer ticker.Stop()
	keep := h.cfg.clock.Ticker(h.cfg.keepAlive)
	defer keep.Stop()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return // the headers say it streams; HEAD has no body to stream
	}

	var buf bytes.Buffer
	write := func(e streamEvent) bool {
		if len(want) > 0 && !want[e.typ] && e.typ != "hello" {
			return true
		}
		buf.Reset()
		data, err := json.Marshal(e.data)
		if err != nil {
			data, _ = json.Marshal(errorBody{Error: "encoding the event: " + err.Error()})
		}
		fmt.Fprintf(&buf, "event: %s\n", e.typ)
		if d := dropped.Swap(0); d > 0 {
			fmt.Fprintf(&buf, ": %d events dropped (slow client)\n", d)
		}
		buf.WriteString("data: ")
		buf.Write(data)
		buf.WriteString("\n\n")
		if _, err := w.Write(buf.Bytes()); err != nil {
			return false
		}
		fl.Flush()
		return true
	}

	// The poller's memory of what was last seen.
	var lastSample time.Time
	if s, ok := h.latestSample(); ok {
		lastSample = s.Time
	}
	lastRB, lastRBProgress := "", false
	if h.cfg.rollbacks != nil {
		l := h.cfg.rollbacks.Latest()
		lastRB, lastRBProgress = l.ID, l.InProgress
	}
	lastDecision := 0
	if h.cfg.rollout != nil {
		if hist := h.cfg.rollout.History(); len(hist) > 0 {
			lastDecision = hist[len(hist)-1].Seq
		}
	}
	if !write(streamEvent{typ: "hello", data: h.Snapshot()}) {
		return
	}
	poll := func() bool {
		if s, ok := h.latestSample(); ok && s.Time.After(lastSample) {
			lastSample = s.Time
			if !write(streamEvent{typ: "sample", data: s}) {
				return false
			}
		}
		if h.cfg.rollout != nil {
			hist := h.cfg.rollout.History()
			for _, d := range hist {
				if d.Seq > lastDecision {
					lastDecision = d.Seq
					if !write(streamEvent{typ: "decision", data: d}) {
						return false
					}
				}
			}
		}
		if h.cfg.rollbacks != nil {
			l := h.cfg.rollbacks.Latest()
			if l.ID != "" && (l.ID != lastRB || l.InProgress != lastRBProgress) {
				lastRB, lastRBProgress = l.ID, l.InProgress
				if rec, err := h.cfg.rollbacks.Get(l.ID); err == nil {
					if !write(streamEvent{typ: "rollback", data: rec}) {
						return false
					}
				}
			}
		}
		return true
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-h.done:
			return
		case e := <-ch:
			if !write(e) {
				return
			}
		case <-ticker.C:
			if !poll() {
				return
			}
		case <-keep.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

func (h *Handler) latestSample() (monitor.Sample, bool) {
	if h.cfg.monitor == nil {
		return monitor.Sample{}, false
	}
	return h.cfg.monitor.Latest()
}
