// Package fleettest starts a real etcd server in process (the etcd
// project's own embed package) and a TCP proxy in front of it that a test
// can cut and restore, so that fleet members can be partitioned from etcd
// and reconnected without mocks.
//
// Both are for tests, examples and labs: the server keeps its data in a
// temporary directory, without fsync, and logs only errors.
package fleettest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Server is an etcd server running in this process.
type Server struct {
	etcd     *embed.Etcd
	dir      string
	endpoint string
}

// ErrStart wraps every error Start returns.
var ErrStart = errors.New("fleettest: start etcd")

// Start starts a single-member etcd server on free loopback ports with its
// data in a new temporary directory, and waits until it serves (at most
// 30 s). Close stops it and removes the directory.
func Start() (*Server, error) {
	dir, err := os.MkdirTemp("", "fleettest-etcd-")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	ports, err := freePorts(2)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	client := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[0])}
	peer := url.URL{Scheme: "http", Host: fmt.Sprintf("127.0.0.1:%d", ports[1])}
	cfg := embed.NewConfig()
	cfg.Name = "fleettest"
	cfg.Dir = dir
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.UnsafeNoFsync = true
	// Fast ticks: etcd's shortest lease is 1.5 election timeouts, so the
	// defaults (1 s) would stretch a 1 s TTL to 1.5 s.
	cfg.TickMs, cfg.ElectionMs = 10, 100
	cfg.ListenClientUrls = []url.URL{client}
	cfg.AdvertiseClientUrls = []url.URL{client}
	cfg.ListenPeerUrls = []url.URL{peer}
	cfg.AdvertisePeerUrls = []url.URL{peer}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w: %v", ErrStart, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		e.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w: not ready after 30 s", ErrStart)
	}
	return &Server{etcd: e, dir: dir, endpoint: client.Host}, nil
}

// Endpoint returns the client endpoint ("127.0.0.1:port").
func (s *Server) Endpoint() string { return s.endpoint }

// Endpoints returns the client endpoint as a list, for a client config.
func (s *Server) Endpoints() []string { return []string{s.endpoint} }

// Close stops the server and removes its data.
func (s *Server) Close() {
	s.etcd.Close()
	os.RemoveAll(s.dir)
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Proxy forwards TCP connections to a target. Cut closes every connection
// and refuses new ones (a partition); Restore accepts them again.
type Proxy struct {
	l      net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// NewProxy listens on a free loopback port and forwards to target.
func NewProxy(target string) (*Proxy, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("fleettest: proxy: %w", err)
	}
	p := &Proxy{l: l, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Endpoint returns the proxy's address.
func (p *Proxy) Endpoint() string { return p.l.Addr().String() }

// Endpoints returns the proxy's address as a list.
func (p *Proxy) Endpoints() []string { return []string{p.Endpoint()} }

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.conns[up] = struct{}{}
		p.wg.Add(2)
		p.mu.Unlock()
		go p.pipe(c, up)
		go p.pipe(up, c)
	}
}

func (p *Proxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	dst.Close()
	src.Close()
	p.mu.Lock()
	delete(p.conns, dst)
	delete(p.conns, src)
	p.mu.Unlock()
}

// Cut closes every forwarded connection and refuses new ones until
// Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	p.cut = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
}

// Restore accepts connections again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

// Close stops the proxy and waits for its goroutines.
func (p *Proxy) Close() {
	p.l.Close()
	p.Cut()
	p.wg.Wait()
}
