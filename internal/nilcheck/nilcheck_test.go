package nilcheck

import (
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIs(t *testing.T) {
	var nilPtr *strings.Reader
	var nilReader io.Reader = nilPtr
	var nilFunc func()
	var nilMap map[string]int
	var nilChan chan int
	for name, v := range map[string]any{
		"nil": nil, "typed nil pointer": nilPtr, "interface holding nil": nilReader,
		"nil func": nilFunc, "nil map": nilMap, "nil chan": nilChan,
	} {
		assert.True(t, Is(v), name)
	}
	for name, v := range map[string]any{
		"pointer": strings.NewReader(""), "func": func() {}, "zero int": 0, "empty string": "",
		"empty map": map[string]int{},
	} {
		assert.False(t, Is(v), name)
	}
}
