package notify

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestEachRecoversAndGoesOn(t *testing.T) {
	var got []string
	var panics []int
	listeners := []func(int){
		func(v int) {
			if v == 2 {
				panic("boom")
			}
			got = append(got, "a")
		},
		func(int) { got = append(got, "b") },
	}
	Each(listeners, []int{1, 2, 3}, func(v int, r any) {
		panics = append(panics, v)
		assert.Equal(t, "boom", r)
	})
	assert.Equal(t, []string{"a", "b", "b", "a", "b"}, got)
	assert.Equal(t, []int{2}, panics)
}
