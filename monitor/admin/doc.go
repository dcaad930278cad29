// Package admin is the operator's HTTP API over a running host: the objects
// the host already has — the pool, the bridge, the migrate controller, the
// rollback manager and the monitor — read and acted on through small
// interfaces declared here (Pool, Bridge, Rollout, Rollbacks, Monitor,
// FleetStatus), which *pool.Pool, *bridge.Bridge, *migrate.Controller,
// *rollback.Manager and *monitor.Monitor satisfy. No other package of the
// module imports this one.
//
//	h, err := admin.New(
//		admin.WithPool(p), admin.WithBridge(b), admin.WithRollout(ctrl),
//		admin.WithRollbacks(rb), admin.WithMonitor(m),
//		admin.WithAuthorizer(admin.BearerToken(os.Getenv("BUMBA_ADMIN_TOKEN"))),
//		admin.WithLogger(logger))
//	if err != nil {
//		return err // names the setting
//	}
//	defer h.Close()             // ends the event streams (before http.Server.Shutdown)
//	mux.Handle(admin.Prefix, h) // "/admin/"
//
// Every object is optional: a route whose object was not given answers 501.
//
// # Routes
//
// Paths are versioned (/admin/v1/…); bodies and answers are JSON
// (Content-Type application/json), errors are {"error": "…"} naming what was
// wrong. Keys are camelCase, durations are milliseconds in keys ending Ms, and
// shares are fractions 0–1 — except "percentage", the hybrid share the seed's
// operators speak, which is percent 0–100 everywhere on the wire (as
// bridge.Bridge.SetPercentage takes it).
//
//	method  path                                  answer / body
//	GET     /admin/v1/status                      Status: mode, percentage, rollout step with its soak and gate values,
//	                                              health, firing alerts, latest rollback, replica, uptime, partitioned
//	GET     /admin/v1/health                      the monitor's Health (the seed's JSON) plus score and components
//	GET     /admin/v1/bridge                      bridge.Stats
//	GET     /admin/v1/pool                        PoolStats (pool.Stats in camelCase, per department)
//	GET     /admin/v1/specialists                 {"at", "specialists": [pool.SpecialistInfo…]} (export-specialist-state)
//	GET     /admin/v1/rollout                     RolloutStatus and the plan's steps
//	GET     /admin/v1/rollout/decisions           {"decisions": [migrate.Decision…]} oldest first; ?limit=N newest N
//	GET     /admin/v1/rollbacks                   {"rollbacks": [rollback.Record…]} oldest first; ?limit=N
//	GET     /admin/v1/rollbacks/{id}              rollback.Record (404 naming an unknown id)
//	GET     /admin/v1/rollbacks/{id}/analysis     rollback.Analysis; ?format=text (or Accept: text/plain) for the text
//	GET     /admin/v1/triggers                    {"triggers": [rollback.TriggerStatus…]} at the last check
//	GET     /admin/v1/alerts                      {"alerts": [monitor.Alert…]} pending and firing, most severe first
//	GET     /admin/v1/alerts/history              {"alerts": [monitor.Alert…]} fired, in firing order; ?limit=N
//	GET     /admin/v1/report?period=1h            monitor.Report over the period (default 1h); &format=text for the table
//	GET     /admin/v1/metrics                     {"metrics": [monitor.MetricInfo…]}
//	GET     /admin/v1/metrics/{name}?period=1h    monitor.Summary of one metric over the period (or &from=&to= RFC 3339)
//	GET     /admin/v1/actions                     {"actions": [Action…]} the audit record, oldest first; ?limit=N
//	GET     /admin/v1/routes                      {"routes": [Route…]} this table
//	GET     /admin/v1/events                      text/event-stream: events hello, sample, alert, transition,
//	                                              decision, rollback, action (data: one JSON object); ?types=a,b filters
//	POST    /admin/v1/mode                        {"mode": "shadow|hybrid|full|fallback", "reason"}
//	POST    /admin/v1/percentage                  {"percentage": 0–100, "reason"}
//	POST    /admin/v1/rollout/advance             {"reason"}
//	POST    /admin/v1/rollout/hold                {"reason"}
//	POST    /admin/v1/rollout/resume              {"reason"}
//	POST    /admin/v1/rollout/step                {"step": "hybrid-50", "reason"} (404 naming an unknown step)
//	POST    /admin/v1/rollbacks/emergency         {"reason", "confirm": bool}
//	POST    /admin/v1/rollbacks/planned           {"reason", "confirm": bool}
//
// A POST answers an ActionResult: the Action recorded (who, why, what changed:
// before and after) and the object it produced (the decision or the rollback
// record). The route table is also available as Routes, for a dashboard or a
// client built on this package.
//
// # Closed by default
//
// Mutating routes answer 403 until the host configures an Authorizer
// (WithAuthorizer); with one, a request without credentials answers 401 (with
// WWW-Authenticate) and one with wrong credentials 403. BearerToken compares
// the token in constant time. Read routes are open unless
// WithReadAuthorizer closes them (it may be the same authorizer). Every
// authorised action is logged ("ADMIN action", at warn level, with who, why,
// the route and before/after) and recorded (Actions, the newest
// DefaultActionLimit); refused requests are logged at info.
//
// With WithRequireConfirmation (the seed's requireConfirmation) a rollback
// request without "confirm": true answers 428 and changes nothing, telling
// what it would do.
//
// # Bad input
//
// Bad input changes nothing and never panics: bodies are bounded
// (MaxBodyBytes, 64 KiB: 413 beyond), decoded strictly (an unknown field is a
// 400 naming it, as is trailing data or a wrong type), a missing or blank
// reason is a 400, a percentage outside 0–100 is a 400 naming the range,
// a wrong method is a 405 with Allow, an unknown path, step or rollback id is
// a 404 naming it, and a refusal by the object acted on (a rollout already
// rolled back, nothing to roll back …) is a 409 with its error.
//
// # Goroutines
//
// New starts none. Each event stream runs on its request's goroutine and ends
// when the client goes, the host's server shuts down, or Close is called
// (call Close before http.Server.Shutdown: a stream never idles).
package admin
