package fleet

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/bumba/pooling/migrate"
)

// etcdWatchers reads the in-process server's count of open watchers.
func etcdWatchers(t *testing.T) float64 {
	t.Helper()
	mfs, err := prometheus.DefaultGatherer.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() == "etcd_debugging_mvcc_watcher_total" {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatal("etcd_debugging_mvcc_watcher_total not found")
	return 0
}

// 10 000 routing changes with replicas coming and going: every live
// replica ends on the last routing; afterwards no goroutine and no watch
// is left, and the keys under the prefix are bounded (the gone replicas'
// keys went with their leases, graceful or killed).
func TestSustainedRoutingChangesLeaveNothingBehind(t *testing.T) {
	before := clientGoroutines()
	watchers := etcdWatchers(t)
	f := newFleet(t)
	for _, n := range []string{"a", "b", "c"} {
		f.add(n, false)
	}
	f.leader()
	cli, err := clientv3.New(Config{Endpoints: srv.Endpoints()}.ClientConfig())
	require.NoError(t, err)
	ctx := context.Background()

	began := time.Now()
	defer func() { t.Logf("took %v", time.Since(began)) }()
	const changes, writers = 10000, 8
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < changes; i += writers {
				r := migrate.Routing{Mode: half.Mode, Percentage: float64(i%100) + 0.5}
				v, _ := json.Marshal(RoutingRecord{Schema: SchemaVersion, Routing: r, By: "writer", Reason: fmt.Sprint(i)})
				_, err := cli.Put(ctx, f.prefix+keyRouting, string(v))
				if err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	// replicas join and leave meanwhile: half leave gracefully, half die
	for i := range 10 {
		r := f.add(fmt.Sprintf("tmp%d", i), false)
		require.Eventually(t, func() bool { return r.m.Publish(ctx) == nil }, 5*time.Second, 5*time.Millisecond)
		if i%2 == 0 {
			r.close()
		} else {
			r.m.Kill()
			_ = r.b.Close(ctx)
		}
	}
	wg.Wait()
	t.Logf("%d changes written in %v", changes, time.Since(began))
	last := migrate.Routing{Mode: half.Mode, Percentage: 99.5}
	final, _ := json.Marshal(RoutingRecord{Schema: SchemaVersion, Routing: last, By: "writer", Reason: "last"})
	_, err = cli.Put(ctx, f.prefix+keyRouting, string(final))
	require.NoError(t, err)
	f.converged(last, 5*time.Second, f.replicas[3:]...)

	// keys: routing, the rollout section, 3 members, 3 election keys;
	// the killed replicas' keys expire with their 1 s leases.
	require.Eventually(t, func() bool {
		resp, err := cli.Get(ctx, f.prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err == nil && resp.Count <= 8
	}, 5*time.Second, 20*time.Millisecond, "bounded keys")
	resp, err := cli.Get(ctx, f.prefix+keyMembers, clientv3.WithPrefix(), clientv3.WithCountOnly())
	require.NoError(t, err)
	require.EqualValues(t, 3, resp.Count)

	for _, r := range f.replicas[:3] {
		r.close()
	}
	require.NoError(t, cli.Close())
	require.Eventually(t, func() bool { return etcdWatchers(t) <= watchers }, 5*time.Second, 10*time.Millisecond, "no watch left")
	var left []string
	if !assert.Eventually(t, func() bool {
		left = clientGoroutines()
		return len(left) <= len(before)
	}, 10*time.Second, 10*time.Millisecond, "goroutines left behind") {
		t.Logf("before: %d %q\nafter: %d %q", len(before), before, len(left), left)
	}
}

// clientGoroutines lists the goroutines of etcd clients (watches, lease
// keep-alives, sessions) and of this package. The in-process server's
// own — and its gateway's gRPC connection — are not ours to check: they
// start lazily with its first connections, and goleak cannot tell them
// apart from the members', since both live in this process.
func clientGoroutines() []string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "etcd/server/") || strings.Contains(g, "clientGoroutines") || strings.Contains(g, "testing.tRunner") {
			continue
		}
		if strings.Contains(g, "etcd/client/v3") || strings.Contains(g, "pooling/migrate/fleet.") {
			out = append(out, g)
		}
	}
	return out
}
