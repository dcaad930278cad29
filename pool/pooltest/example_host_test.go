package pooltest_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/pool"
	"github.com/bumba/pooling/pool/pooltest"
)

// ReviewHandler is the host's own code under test: an HTTP endpoint that
// asks a department's specialist to review a change, and answers 503 when
// the pool cannot.
type ReviewHandler struct {
	Pool *pool.Pool
}

func (h *ReviewHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	res, err := h.Pool.Execute(r.Context(), pool.Task{
		Department: q.Get("department"), Command: "review", Payload: q.Get("change"),
	})
	if err != nil {
		http.Error(w, "review unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("X-Warm", strconv.FormatBool(res.Warm))
	w.Header().Set("X-Waited", res.Waited.String())
	fmt.Fprint(w, res.Output)
}

// noPrediction predicts nothing, so that every start the test counts is
// one its requests caused.
type noPrediction struct{}

func (noPrediction) Observe(_ time.Time, _, _ string, dst []pool.Prediction) []pool.Prediction {
	return dst
}

// A host tests its handler against a real pool of fake specialists on a
// mock clock: cold and warm requests, a failing specialist, and shutdown,
// checking what the fakes saw. Drive moves the clock through each cold
// start, so the test neither sleeps nor guesses when to advance.
func Example_hostIntegration() {
	clk := clock.NewMock()
	fleet := pooltest.New(clk,
		pooltest.WithStartLatency(2*time.Second),
		pooltest.WithMemory(1<<20),
		pooltest.WithHandler(func(_ context.Context, id string, t pool.Task) (any, error) {
			return fmt.Sprintf("%s approves %v", id, t.Payload), nil
		}),
	)
	api := fleet.Add("api-architect", "BACKEND")
	react := fleet.Add("react-lead", "FRONTEND")
	p, err := pool.New([]pool.Spec{api.Spec(), react.Spec()},
		pool.WithClock(clk), pool.WithMaxWarm(2), pool.WithPredictor(noPrediction{}))
	if err != nil {
		panic(err)
	}
	h := &ReviewHandler{Pool: p}

	serve := func(department, change string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/review?department="+department+"&change="+change, nil)
		if err := fleet.Drive(func() { h.ServeHTTP(rec, req) }); err != nil {
			panic(err)
		}
		fmt.Printf("%d %q warm=%s waited=%s\n", rec.Code, rec.Body.String(), rec.Header().Get("X-Warm"), rec.Header().Get("X-Waited"))
	}

	serve("BACKEND", "pr-1") // cold: the start takes its 2 s on the mock clock
	serve("BACKEND", "pr-2") // warm
	c := fleet.Counts()
	fmt.Printf("starts=%d calls=%d resident=%d (%d MiB)\n", c.Starts, c.Calls, c.Resident, c.ResidentBytes>>20)

	api.FailExecute(errors.New("model quota exceeded"))
	serve("BACKEND", "pr-3")
	fmt.Println("call errors:", api.Counts().CallErrors)
	api.Heal()

	serve("FRONTEND", "pr-4")

	// Shutdown closes every instance; the counters prove it.
	if err := fleet.Drive(func() { err = p.Close(context.Background()) }); err != nil || fleet.Err() != nil {
		panic(errors.Join(err, fleet.Err()))
	}
	c = fleet.Counts()
	fmt.Printf("closes=%d resident=%d peak=%d (%d MiB) violations=%d after %v\n",
		c.Closes, c.Resident, c.PeakResident, c.PeakResidentBytes>>20, c.Violations, clk.Now().Sub(time.Unix(0, 0)))
	// Output:
	// 200 "api-architect approves pr-1" warm=false waited=2s
	// 200 "api-architect approves pr-2" warm=true waited=0s
	// starts=1 calls=2 resident=1 (1 MiB)
	// 503 "review unavailable\n" warm= waited=
	// call errors: 1
	// 200 "react-lead approves pr-4" warm=false waited=2s
	// closes=2 resident=0 peak=2 (2 MiB) violations=0 after 4s
}
