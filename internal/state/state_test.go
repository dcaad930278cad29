package state

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if role := os.Getenv(childEnv); role != "" {
		os.Exit(runChild(role))
	}
	goleak.VerifyTestMain(m)
}

func TestMissingFileStartsFresh(t *testing.T) {
	got, err := Read(filepath.Join(t.TempDir(), "none.json"))
	require.NoError(t, err)
	require.Nil(t, got)
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	require.NoError(t, Write(path, []byte(`{"a": 1, "b": "<x>"}`)))
	got, err := Read(path)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":1,"b":"<x>"}`, string(got))
	require.NoError(t, Write(path, []byte(`{"a":2}`)))
	got, err = Read(path)
	require.NoError(t, err)
	require.JSONEq(t, `{"a":2}`, string(got))
	require.Empty(t, temps(t, path), "no temporary file is left after a write")
}

func TestRefusesCorruptFiles(t *testing.T) {
	good, err := Encode([]byte(`{"step":"hybrid-50"}`))
	require.NoError(t, err)
	cases := map[string][]byte{
		"truncated":      good[:len(good)/2],
		"empty":          {},
		"garbage":        []byte("not json at all"),
		"edited payload": []byte(strings.Replace(string(good), "hybrid-50", "hybrid-75", 1)),
		"wrong format":   []byte(strings.Replace(string(good), Format, "something-else", 1)),
		"trailing data":  append(append([]byte{}, good...), []byte(`{"x":1}`)...),
		"no payload":     []byte(`{"format":"bumba-pooling-state","schema":1,"checksum":"x"}`),
		"schema zero":    []byte(strings.Replace(string(good), `"schema": 1`, `"schema": 0`, 1)),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "s.json")
			require.NoError(t, os.WriteFile(path, data, 0o600))
			got, err := Read(path)
			require.ErrorIs(t, err, ErrCorrupt)
			require.Nil(t, got)
			require.Contains(t, err.Error(), path)
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, data, after, "a refused file is never reset")
		})
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	good, err := Encode([]byte(`{"step":"full"}`))
	require.NoError(t, err)
	newer := strings.Replace(string(good), `"schema": 1`, `"schema": 2`, 1)
	path := filepath.Join(t.TempDir(), "s.json")
	require.NoError(t, os.WriteFile(path, []byte(newer), 0o600))
	_, err = Read(path)
	require.ErrorIs(t, err, ErrNewerVersion)
	require.Contains(t, err.Error(), "schema 2")
}

// A crash after the temporary file was written but before the rename
// leaves the old state in force; the next write replaces the leftover.
func TestCrashBeforeRenameKeepsOldState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	require.NoError(t, Write(path, []byte(`{"step":"hybrid-25"}`)))
	half, err := Encode([]byte(`{"step":"hybrid-50"}`))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path+TempSuffix, half[:len(half)-7], 0o600)) // crashed mid-write, never renamed

	got, err := Read(path)
	require.NoError(t, err)
	require.JSONEq(t, `{"step":"hybrid-25"}`, string(got))

	require.NoError(t, Write(path, []byte(`{"step":"hybrid-50"}`)))
	got, err = Read(path)
	require.NoError(t, err)
	require.JSONEq(t, `{"step":"hybrid-50"}`, string(got))
	require.Empty(t, temps(t, path), "the write removed the crashed write's leftover")
}

func TestWriteRejectsInvalidPayload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.json")
	require.Error(t, Write(path, []byte("{")))
	_, err := os.Stat(path)
	require.True(t, os.IsNotExist(err))
}

func TestWriteToMissingDirectoryFails(t *testing.T) {
	err := Write(filepath.Join(t.TempDir(), "no", "such", "s.json"), []byte(`{}`))
	require.Error(t, err)
}
