package fleet

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/bumba/pooling/bridge"
	"github.com/bumba/pooling/migrate"
)

func TestConfigValidation(t *testing.T) {
	router := &stubRouter{}
	metrics := migrate.MetricsFunc(func() (migrate.Reading, error) { return migrate.Reading{}, nil })
	ok := Config{Endpoints: []string{"127.0.0.1:2379"}, Replica: "a"}
	for name, c := range map[string]Config{
		"no endpoints":  {Replica: "a"},
		"no replica":    {Endpoints: ok.Endpoints},
		"slash replica": {Endpoints: ok.Endpoints, Replica: "a/b"},
		"prefix":        {Endpoints: ok.Endpoints, Replica: "a", Prefix: "/x"},
		"ttl fraction":  {Endpoints: ok.Endpoints, Replica: "a", LeaseTTL: 1500 * time.Millisecond},
		"ttl short":     {Endpoints: ok.Endpoints, Replica: "a", LeaseTTL: time.Millisecond},
	} {
		_, err := New(c, router, metrics)
		require.ErrorIs(t, err, ErrInvalidConfig, name)
	}
	_, err := New(ok, router, metrics, WithPublishInterval(time.Microsecond))
	require.ErrorIs(t, err, ErrInvalidConfig)
	require.ErrorContains(t, err, "WithPublishInterval")
	_, err = New(ok, nil, metrics)
	require.ErrorIs(t, err, ErrInvalidConfig)
	m, err := New(ok, router, metrics)
	require.NoError(t, err)
	require.Equal(t, DefaultPrefix, m.cfg.Prefix)
	require.Equal(t, DefaultLeaseTTL, m.cfg.LeaseTTL)

	t.Setenv(EnvEndpoints, " a:1, b:2 ,")
	require.Equal(t, []string{"a:1", "b:2"}, EndpointsFromEnv())
	cc := Config{Endpoints: []string{"e:1"}, Username: "u", Password: "p"}.ClientConfig()
	require.Equal(t, "u", cc.Username)
	require.Equal(t, DefaultDialTimeout, cc.DialTimeout)
}

// A record this version cannot read is refused with a clear error naming
// the key, and never overwritten by the reader.
func TestUnreadableRecords(t *testing.T) {
	f := newFleet(t)
	cli, err := clientv3.New(Config{Endpoints: srv.Endpoints()}.ClientConfig())
	require.NoError(t, err)
	defer cli.Close()
	ctx := context.Background()
	key := f.prefix + keySections + migrate.SectionRollout
	st, err := NewStore(ctx, cli, f.prefix, "x", f.clk)
	require.NoError(t, err)

	_, err = cli.Put(ctx, key, `{"schema":2,"data":{}}`)
	require.NoError(t, err)
	_, err = st.Load(ctx, migrate.SectionRollout)
	require.ErrorIs(t, err, ErrNewerRecord)
	require.ErrorContains(t, err, key)

	_, err = cli.Put(ctx, key, `not json`)
	require.NoError(t, err)
	_, err = st.Load(ctx, migrate.SectionRollout)
	require.ErrorIs(t, err, ErrCorruptRecord)
	_, err = migrate.New(st, migrate.MetricsFunc(func() (migrate.Reading, error) { return migrate.Reading{}, nil }), migrate.WithStore(st))
	require.ErrorIs(t, err, ErrCorruptRecord)
	resp, err := cli.Get(ctx, key)
	require.NoError(t, err)
	require.Equal(t, "not json", string(resp.Kvs[0].Value), "never reset")

	_, err = cli.Put(ctx, f.prefix+keyRouting, `{"routing":{}}`)
	require.NoError(t, err)
	_, err = NewStore(ctx, cli, f.prefix, "y", f.clk)
	require.ErrorIs(t, err, ErrCorruptRecord)
}

type stubRouter struct {
	mode bridge.Mode
	pct  float64
}

func (s *stubRouter) SetMode(m bridge.Mode) error   { s.mode = m; return nil }
func (s *stubRouter) SetPercentage(p float64) error { s.pct = p; return nil }
func (s *stubRouter) Mode() bridge.Mode             { return s.mode }
func (s *stubRouter) Percentage() float64           { return s.pct }
