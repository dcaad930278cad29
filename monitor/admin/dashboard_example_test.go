package admin_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/monitor"
	"github.com/bumba/pooling/monitor/admin"
)

// The dashboard is mounted beside the API; /dashboard redirects to it.
func ExampleHandler_Dashboard() {
	run := bridge.ExecutorFunc(func(context.Context, bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: "ok"}, nil
	})
	b, err := bridge.New(run, run)
	if err != nil {
		panic(err)
	}
	m, err := monitor.New(monitor.WithBridge(b))
	if err != nil {
		panic(err)
	}
	h, err := admin.New(admin.WithBridge(b), admin.WithMonitor(m))
	if err != nil {
		panic(err)
	}
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle(admin.Prefix, h)
	mux.Handle(admin.DashboardPath, h.Dashboard())
	srv := httptest.NewServer(mux)
	defer srv.Close()

	res, err := srv.Client().Get(srv.URL + "/dashboard")
	if err != nil {
		panic(err)
	}
	res.Body.Close()
	fmt.Println(res.StatusCode, res.Request.URL.Path, res.Header.Get("Content-Type"))
	// Output: 200 /dashboard/ text/html; charset=utf-8
}
