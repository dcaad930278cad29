package admin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/benbjohnson/clock"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/monitor/admin"
)

// A host mounts the API on its own mux. Actions need the token and a
// reason; bad input is refused with a JSON error naming it and changes
// nothing.
func Example() {
	echo := bridge.ExecutorFunc(func(_ context.Context, c bridge.Command) (bridge.Response, error) {
		return bridge.Response{Output: c.Name}, nil
	})
	b, err := bridge.New(echo, echo, bridge.WithMode(bridge.ModeHybrid), bridge.WithPercentage(25))
	if err != nil {
		panic(err)
	}
	defer b.Close(context.Background())
	h, err := admin.New(admin.WithBridge(b), admin.WithAuthorizer(admin.BearerToken("s3cret")), admin.WithClock(clock.NewMock()))
	if err != nil {
		panic(err)
	}
	defer h.Close()
	mux := http.NewServeMux()
	mux.Handle(admin.Prefix, h)

	send := func(method, path, token, body string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		var answer struct {
			Error  string `json:"error"`
			Action struct {
				Who    string      `json:"who"`
				Before admin.State `json:"before"`
				After  admin.State `json:"after"`
			} `json:"action"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &answer)
		if answer.Error != "" {
			fmt.Printf("%d %s\n", rec.Code, answer.Error)
			return
		}
		fmt.Printf("%d by %s: %g%% → %g%%\n", rec.Code, answer.Action.Who, answer.Action.Before.Percentage, answer.Action.After.Percentage)
	}
	send("POST", "/admin/v1/percentage", "", `{"percentage": 50, "reason": "gate passed"}`)
	send("POST", "/admin/v1/percentage", "s3cret", `{"percentage": 150, "reason": "gate passed"}`)
	send("POST", "/admin/v1/percentage", "s3cret", `{"percentage": 50, "reason": "gate passed", "force": true}`)
	send("POST", "/admin/v1/percentage", "s3cret", `{"percentage": 50, "reason": "gate passed"}`)
	fmt.Println("bridge percentage:", b.Percentage())
	// Output:
	// 401 admin: credentials required: send Authorization: Bearer <token>
	// 400 "percentage" 150 is outside 0–100 (it is in percent: 25 means a quarter)
	// 400 bad JSON body: unknown field "force"
	// 200 by token: 25% → 50%
	// bridge percentage: 50
}
