package main

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/bumba/pooling/examples/server/host"
)

func noEnv(string) (string, bool) { return "", false }

// -h documents every flag and every variable, and exits 0.
func TestHelpDocumentsEverything(t *testing.T) {
	var out, errOut strings.Builder
	if code := run([]string{"-h"}, noEnv, &out, &errOut); code != 0 {
		t.Fatalf("-h: exit %d", code)
	}
	help := errOut.String()
	for _, v := range host.Vars() {
		if !strings.Contains(help, v.Name) {
			t.Errorf("-h does not mention %s", v.Name)
		}
	}
	for _, f := range []string{"-addr", "-state", "-rate", "-drain"} {
		if !strings.Contains(help, f) {
			t.Errorf("-h does not mention %s", f)
		}
	}
}

func TestBadUsageExits2(t *testing.T) {
	var out, errOut strings.Builder
	if code := run([]string{"-bogus"}, noEnv, &out, &errOut); code != 2 || strings.Count(errOut.String(), "\n") != 1 {
		t.Errorf("-bogus: exit %d, %q", code, errOut.String())
	}
	errOut.Reset()
	bad := func(k string) (string, bool) {
		if k == "BUMBA_AUTO_ROLLBACK" {
			return "maybe", true
		}
		return "", false
	}
	if code := run(nil, bad, &out, &errOut); code != 2 || !strings.Contains(errOut.String(), "BUMBA_AUTO_ROLLBACK") {
		t.Errorf("bad variable: exit %d, %q", code, errOut.String())
	}
}

// -print-alert-rules prints the committed alert-rules.yml at the defaults.
func TestPrintAlertRulesIsTheCommittedFile(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"-print-alert-rules"}, noEnv, &out, &errOut); code != 0 {
		t.Fatalf("-print-alert-rules: exit %d: %s", code, errOut.String())
	}
	want, err := os.ReadFile("alert-rules.yml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Fatalf("-print-alert-rules differs from alert-rules.yml (regenerate: go run ./examples/server -print-alert-rules > examples/server/alert-rules.yml)")
	}
}
