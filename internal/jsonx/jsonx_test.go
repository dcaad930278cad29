package jsonx_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/bumba/pooling/internal/jsonx"
)

type inner struct {
	Wait time.Duration `json:"waitMs"`
}

func (i inner) MarshalJSON() ([]byte, error)  { return jsonx.Marshal(i) }
func (i *inner) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, i) }
func (o outer) MarshalJSON() ([]byte, error)  { return jsonx.Marshal(o) }
func (o *outer) UnmarshalJSON(b []byte) error { return jsonx.Unmarshal(b, o) }

type base struct {
	Name string        `json:"name"`
	For  time.Duration `json:"for"`
}

type outer struct {
	base
	Soaked time.Duration  `json:"soakedMs"`
	Names  []string       `json:"names"`
	Inners []inner        `json:"inners"`
	Counts map[string]int `json:"counts"`
	Note   string         `json:"note,omitempty"`
	Skip   int            `json:"-"`
	Ptr    *inner         `json:"ptr,omitempty"`
	At     time.Time      `json:"at,omitzero"`
}

func TestMarshalConvention(t *testing.T) {
	o := outer{base: base{Name: "a", For: 90 * time.Second}, Soaked: 1500 * time.Microsecond}
	b, err := json.Marshal(o)
	require.NoError(t, err)
	assert.JSONEq(t, `{"name":"a","for":"1m30s","soakedMs":1.5,"names":[],"inners":[],"counts":{}}`, string(b))
	require.NoError(t, jsonx.Check(b, 0))

	var back outer
	require.NoError(t, json.Unmarshal(b, &back))
	back.Names, back.Inners, back.Counts = nil, nil, nil
	assert.Equal(t, o, back)
}

func TestUnmarshalReadsTheOldSnakeCaseForm(t *testing.T) {
	var o outer
	require.NoError(t, json.Unmarshal([]byte(`{"name":"a","for":90000000000,"soaked":1500000,"inners":[{"wait":2000000}]}`), &o))
	assert.Equal(t, 90*time.Second, o.For)
	assert.Equal(t, 1500*time.Microsecond, o.Soaked)
	require.Len(t, o.Inners, 1)
	assert.Equal(t, 2*time.Millisecond, o.Inners[0].Wait)
	assert.Equal(t, "warm_hits", jsonx.Snake("warmHits"))
	assert.Equal(t, "p95", jsonx.Snake("p95"))
}

func TestCheckFindsViolations(t *testing.T) {
	assert.Error(t, jsonx.Check([]byte(`{"snake_case":1}`), 0))
	assert.Error(t, jsonx.Check([]byte(`{"list":null}`), 0))
	assert.Error(t, jsonx.Check([]byte(`{"x":1234567}`), 1234567))
	assert.NoError(t, jsonx.Check([]byte(`{"modes":{"Full_Mode":{"a":1}}}`), 0, "modes"))
	assert.Error(t, jsonx.Check([]byte(`{"modes":{"full":{"b_c":1}}}`), 0, "modes"))

	var o outer
	jsonx.Fill(&o, 3723004005006)
	assert.Equal(t, time.Duration(3723004005006), o.Soaked)
	require.Len(t, o.Inners, 1)
	assert.Equal(t, time.Duration(3723004005006), o.Inners[0].Wait)
	assert.Equal(t, time.Duration(3723004005006), o.Ptr.Wait)
	b, err := json.Marshal(o)
	require.NoError(t, err)
	assert.NoError(t, jsonx.Check(b, 3723004005006))
	assert.Equal(t, 3723004005006*time.Nanosecond, jsonx.FromMs(jsonx.Ms(3723004005006)))
}
