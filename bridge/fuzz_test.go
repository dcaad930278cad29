package bridge

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// FuzzParseMode: any text is a mode that prints and parses back to
// itself, or ErrUnknownMode quoting it.
func FuzzParseMode(f *testing.F) {
	for _, s := range []string{"shadow", " Hybrid ", "FULL", "full_replacement", "fallback", "", "legacy", "\u00a0full"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMode(s)
		if err != nil {
			if !errors.Is(err, ErrUnknownMode) {
				t.Fatalf("error kind: %v", err)
			}
			return
		}
		if !m.Valid() {
			t.Fatalf("%q parsed to invalid %v", s, m)
		}
		var back Mode
		if err := back.UnmarshalText([]byte(m.String())); err != nil || back != m {
			t.Fatalf("%v → %q → %v, %v", m, m.String(), back, err)
		}
	})
}

// FuzzCommand: any command goes through a hybrid bridge with a shadow
// comparison: it is answered by legacy or the pool (or refused for an
// empty name with ErrInvalidCommand), the same routing key always takes
// the same path, and a mismatch kept within WithMismatchBytes.
func FuzzCommand(f *testing.F) {
	f.Add("analyze", "a b c", "opt", "key-1", 10)
	f.Add("", "", "", "", 0)
	f.Add(" ", strings.Repeat("x", 5000), strings.Repeat("y", 5000), strings.Repeat("k", 5000), 1)
	f.Add("implement", "\x00\xff", "\u2028", "", 100000)
	const limit = 8 << 10
	hybrid, err := New(echo("legacy"), echo("pool"), WithMode(ModeHybrid), WithPercentage(50))
	if err != nil {
		f.Fatal(err)
	}
	shadow, err := New(echo("legacy"), echo("pool"), WithMismatchBytes(limit))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() {
		_ = hybrid.Close(context.Background())
		_ = shadow.Close(context.Background())
	})
	f.Fuzz(func(t *testing.T, name, args, opt, key string, n int) {
		cmd := Command{Name: name, Args: strings.Fields(args), Options: map[string]any{"opt": opt, "n": n}, RoutingKey: key}
		resp, err := hybrid.Execute(context.Background(), cmd)
		if strings.TrimSpace(name) == "" {
			if err == nil {
				t.Fatal("a command without a name was run")
			}
			return
		}
		if err != nil {
			t.Fatalf("execute: %v", err)
		}
		out, _ := resp.Output.(string)
		if out != "legacy:"+name && out != "pool:"+name {
			t.Fatalf("answer %q", out)
		}
		if key != "" {
			again, err := hybrid.Execute(context.Background(), cmd)
			if err != nil || again.Output != resp.Output {
				t.Fatalf("routing key %q took another path: %v then %v (%v)", key, resp.Output, again.Output, err)
			}
		}
		if _, err := shadow.Execute(context.Background(), cmd); err != nil {
			t.Fatalf("shadow: %v", err)
		}
		m, size := boundMismatch(Mismatch{Command: cmd, Legacy: Result{Response: Response{Output: args, Detail: opt}, Err: errors.New(key)}}, limit/10)
		if size > limit+1024 {
			t.Fatalf("a bounded mismatch of %d bytes (limit %d)", size, limit)
		}
		if len(m.Command.Name) > limit/10+200 || len(m.Command.RoutingKey) > limit/10+200 {
			t.Fatal("name or key kept whole past the bound")
		}
		if shadow.shadow.mismatchBytes() > limit {
			t.Fatalf("kept %d bytes of mismatches (limit %d)", shadow.shadow.mismatchBytes(), limit)
		}
	})
}
