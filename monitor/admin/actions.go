package admin

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
	"github.com/bumba/pooling/rollback"
)

// Action is one admin action in the audit record: who did what, why, and
// what changed.
type Action struct {
	Seq uint64    `json:"seq"`
	At  time.Time `json:"at"`
	// Who is the authorizer's name for the caller; Remote its address.
	Who    string `json:"who"`
	Remote string `json:"remote"`
	// Action is "set_mode", "set_percentage", "advance", "hold", "resume",
	// "set_step", "emergency_rollback" or "planned_rollback"; Target its
	// argument (the mode, the percentage, the step), if any.
	Action string `json:"action"`
	Target string `json:"target,omitempty"`
	Reason string `json:"reason"`
	// Before and After are the routing and rollout around the action.
	Before State `json:"before"`
	After  State `json:"after"`
	// OK reports that the action was done; Error why not (Status is the
	// HTTP status answered).
	OK     bool   `json:"ok"`
	Error  string `json:"error,omitempty"`
	Status int    `json:"status"`
	// Decision is the rollout decision's sequence number, Rollback the
	// rollback record's ID, when the action made one.
	Decision int    `json:"decision,omitempty"`
	Rollback string `json:"rollback,omitempty"`
}

// State is the routing and the rollout at one moment, as an Action records it.
type State struct {
	Mode       string  `json:"mode,omitempty"`
	Percentage float64 `json:"percentage"`
	Step       string  `json:"step,omitempty"`
	Rollout    string  `json:"rollout,omitempty"`
	Rollback   string  `json:"rollback,omitempty"`
}

// ActionResult is what a mutating route answers.
type ActionResult struct {
	Action   Action            `json:"action"`
	Decision *migrate.Decision `json:"decision,omitempty"`
	Rollback *rollback.Record  `json:"record,omitempty"`
}

// Actions returns the audit record, oldest first (at most WithActionLimit).
func (h *Handler) Actions() []Action {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Action(nil), h.actions...)
}

func (h *Handler) state() State {
	c := &h.cfg
	var s State
	if c.bridge != nil {
		s.Mode, s.Percentage = modeName(c.bridge.Mode()), c.bridge.Percentage()
	}
	if c.rollout != nil {
		st := c.rollout.Status()
		s.Step, s.Rollout = st.Step.Name, string(st.State)
	}
	if c.rollbacks != nil {
		s.Rollback = c.rollbacks.Latest().ID
	}
	return s
}

// reasonBody is the common part of every action's body.
type reasonBody struct {
	Reason string `json:"reason"`
}

func checkReason(reason string) error {
	if strings.TrimSpace(reason) == "" {
		return errors.New(`"reason" is required: say why`)
	}
	if len(reason) > MaxReasonBytes {
		return fmt.Errorf(`"reason" is %d bytes; at most %d`, len(reason), MaxReasonBytes)
	}
	if !utf8.ValidString(reason) {
		return errors.New(`"reason" is not valid UTF-8`)
	}
	return nil
}

// act runs do as the action name (target its argument) on behalf of who,
// recording and logging it; do returns the HTTP status and the result.
func (h *Handler) act(w http.ResponseWriter, r *http.Request, who, name, target, reason string,
	do func(ctx context.Context) (int, *ActionResult, error)) {
	before := h.state()
	status, res, err := func() (status int, res *ActionResult, err error) {
		defer func() {
			if v := recover(); v != nil {
				h.panics.Add(1)
				status, res, err = http.StatusInternalServerError, nil, fmt.Errorf("panic: %v", v)
			}
		}()
		return do(r.Context())
	}()
	a := Action{At: h.cfg.clock.Now(), Who: who, Remote: r.RemoteAddr, Action: name, Target: target, Reason: reason,
		Before: before, After: h.state(), OK: err == nil, Status: status}
	if err != nil {
		a.Error = err.Error()
	}
	if res == nil {
		res = &ActionResult{}
	}
	if res.Decision != nil {
		a.Decision = res.Decision.Seq
	}
	if res.Rollback != nil {
		a.Rollback = res.Rollback.ID
	}
	h.mu.Lock()
	h.seq++
	a.Seq = h.seq
	if len(h.actions) >= h.cfg.actionLimit {
		copy(h.actions, h.actions[1:])
		h.actions = h.actions[:len(h.actions)-1]
	}
	h.actions = append(h.actions, a)
	h.mu.Unlock()
	attrs := []any{"seq", a.Seq, "action", name, "target", target, "who", who, "remote", a.Remote, "reason", reason,
		"before", fmt.Sprintf("%+v", a.Before), "after", fmt.Sprintf("%+v", a.After), "ok", a.OK}
	if err != nil {
		h.cfg.logger.Warn("ADMIN action refused", append(attrs, "error", a.Error)...)
	} else {
		h.cfg.logger.Warn("ADMIN action", attrs...)
	}
	h.publish(streamEvent{typ: "action", data: a})
	res.Action = a
	if err != nil {
		writeError(w, status, err.Error())
		return
	}
	writeJSON(w, status, res)
}

// statusOf maps an object's refusal to an HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, migrate.ErrUnknownStep), errors.Is(err, rollback.ErrUnknownRollback):
		return http.StatusNotFound
	case errors.Is(err, bridge.ErrInvalidPercentage), errors.Is(err, bridge.ErrUnknownMode),
		errors.Is(err, migrate.ErrReasonRequired), errors.Is(err, rollback.ErrReasonRequired):
		return http.StatusBadRequest
	case errors.Is(err, bridge.ErrClosed):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable
	}
	return http.StatusConflict
}

func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.cfg.logger.Info("admin request refused", "method", r.Method, "path", r.URL.Path, "remote", r.RemoteAddr, "status", status, "error", msg)
	writeError(w, status, msg)
}

type modeBody struct {
	Mode   string `json:"mode"`
	Reason string `json:"reason"`
}

func (h *Handler) postMode(w http.ResponseWriter, r *http.Request, who string) {
	var b modeBody
	if e := decode(w, r, &b); e != nil {
		h.refuse(w, r, e.status, e.msg)
		return
	}
	if strings.TrimSpace(b.Mode) == "" {
		h.refuse(w, r, http.StatusBadRequest, `"mode" is required: shadow, hybrid, full or fallback`)
		return
	}
	m, err := bridge.ParseMode(b.Mode)
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, fmt.Sprintf("unknown mode %q: shadow, hybrid, full or fallback", b.Mode))
		return
	}
	if err := checkReason(b.Reason); err != nil {
		h.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	h.act(w, r, who, "set_mode", m.String(), b.Reason, func(context.Context) (int, *ActionResult, error) {
		if err := h.cfg.bridge.SetMode(m); err != nil {
			return statusOf(err), nil, err
		}
		return http.StatusOK, nil, nil
	})
}

type percentageBody struct {
	// Percentage is a pointer so that a missing one is told from 0.
	Percentage *float64 `json:"percentage"`
	Reason     string   `json:"reason"`
}

func (h *Handler) postPercentage(w http.ResponseWriter, r *http.Request, who string) {
	var b percentageBody
	if e := decode(w, r, &b); e != nil {
		h.refuse(w, r, e.status, e.msg)
		return
	}
	if b.Percentage == nil {
		h.refuse(w, r, http.StatusBadRequest, `"percentage" is required: a number from 0 to 100 (percent)`)
		return
	}
	p := *b.Percentage
	if math.IsNaN(p) || p < 0 || p > 100 {
		h.refuse(w, r, http.StatusBadRequest, fmt.Sprintf(`"percentage" %v is outside 0–100 (it is in percent: 25 means a quarter)`, p))
		return
	}
	if err := checkReason(b.Reason); err != nil {
		h.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	h.act(w, r, who, "set_percentage", fmt.Sprintf("%g", p), b.Reason, func(context.Context) (int, *ActionResult, error) {
		if err := h.cfg.bridge.SetPercentage(p); err != nil {
			return statusOf(err), nil, err
		}
		return http.StatusOK, nil, nil
	})
}

func (h *Handler) rolloutAction(name string, do func(ctx context.Context, reason string) (migrate.Decision, error)) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, who string) {
		var b reasonBody
		if e := decode(w, r, &b); e != nil {
			h.refuse(w, r, e.status, e.msg)
			return
		}
		if err := checkReason(b.Reason); err != nil {
			h.refuse(w, r, http.StatusBadRequest, err.Error())
			return
		}
		h.act(w, r, who, name, "", b.Reason, func(ctx context.Context) (int, *ActionResult, error) {
			d, err := do(ctx, b.Reason)
			if err != nil {
				return statusOf(err), nil, err
			}
			return http.StatusOK, &ActionResult{Decision: &d}, nil
		})
	}
}

func (h *Handler) postAdvance(w http.ResponseWriter, r *http.Request, who string) {
	h.rolloutAction("advance", func(ctx context.Context, reason string) (migrate.Decision, error) {
		return h.cfg.rollout.Advance(ctx, reason)
	})(w, r, who)
}

func (h *Handler) postHold(w http.ResponseWriter, r *http.Request, who string) {
	h.rolloutAction("hold", func(ctx context.Context, reason string) (migrate.Decision, error) {
		return h.cfg.rollout.Hold(ctx, reason)
	})(w, r, who)
}

func (h *Handler) postResume(w http.ResponseWriter, r *http.Request, who string) {
	h.rolloutAction("resume", func(ctx context.Context, reason string) (migrate.Decision, error) {
		return h.cfg.rollout.Resume(ctx, reason)
	})(w, r, who)
}

type stepBody struct {
	Step   string `json:"step"`
	Reason string `json:"reason"`
}

func (h *Handler) postStep(w http.ResponseWriter, r *http.Request, who string) {
	var b stepBody
	if e := decode(w, r, &b); e != nil {
		h.refuse(w, r, e.status, e.msg)
		return
	}
	if strings.TrimSpace(b.Step) == "" {
		h.refuse(w, r, http.StatusBadRequest, `"step" is required: a step of the plan (see GET `+Base+`/rollout)`)
		return
	}
	if err := checkReason(b.Reason); err != nil {
		h.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	plan := h.cfg.rollout.Plan()
	if plan.Index(b.Step) < 0 {
		names := make([]string, 0, len(plan.Steps))
		for _, s := range plan.Steps {
			names = append(names, s.Name)
		}
		h.refuse(w, r, http.StatusNotFound, fmt.Sprintf("unknown step %q: the plan's steps are %s", b.Step, strings.Join(names, ", ")))
		return
	}
	h.act(w, r, who, "set_step", b.Step, b.Reason, func(ctx context.Context) (int, *ActionResult, error) {
		d, err := h.cfg.rollout.SetStep(ctx, b.Step, b.Reason)
		if err != nil {
			return statusOf(err), nil, err
		}
		return http.StatusOK, &ActionResult{Decision: &d}, nil
	})
}

type rollbackBody struct {
	Reason  string `json:"reason"`
	Confirm bool   `json:"confirm"`
}

func (h *Handler) postRollback(kind rollback.Kind, name string, do func(ctx context.Context, reason string) (rollback.Record, error)) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, r *http.Request, who string) {
		var b rollbackBody
		if e := decode(w, r, &b); e != nil {
			h.refuse(w, r, e.status, e.msg)
			return
		}
		if err := checkReason(b.Reason); err != nil {
			h.refuse(w, r, http.StatusBadRequest, err.Error())
			return
		}
		if h.cfg.confirm && !b.Confirm {
			would := "switch everything to legacy at once"
			if kind == rollback.KindPlanned {
				would = "step the pool's share down gradually, verifying each stage, then switch to legacy"
			}
			if h.cfg.bridge != nil {
				would += " (routing now: " + modeName(h.cfg.bridge.Mode()) + fmt.Sprintf(" %g%%)", h.cfg.bridge.Percentage())
			}
			h.cfg.logger.Info("admin rollback awaiting confirmation", "action", name, "who", who, "reason", b.Reason)
			writeJSON(w, http.StatusPreconditionRequired, errorBody{
				Error: `confirmation required: repeat the request with "confirm": true`, Would: would})
			return
		}
		h.act(w, r, who, name, "", b.Reason, func(ctx context.Context) (int, *ActionResult, error) {
			rec, err := do(ctx, b.Reason)
			if err != nil {
				return statusOf(err), nil, err
			}
			return http.StatusOK, &ActionResult{Rollback: &rec}, nil
		})
	}
}

func (h *Handler) postEmergency(w http.ResponseWriter, r *http.Request, who string) {
	h.postRollback(rollback.KindEmergency, "emergency_rollback", h.cfg.rollbacks.Emergency)(w, r, who)
}

func (h *Handler) postPlanned(w http.ResponseWriter, r *http.Request, who string) {
	h.postRollback(rollback.KindPlanned, "planned_rollback", h.cfg.rollbacks.Planned)(w, r, who)
}
