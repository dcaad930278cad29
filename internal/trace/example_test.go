package trace_test

import (
	"fmt"

	"github.com/bumba/pooling/internal/trace"
)

func Example() {
	tr, err := trace.Embedded("azure2021", trace.Options{Seed: 0})
	if err != nil {
		panic(err)
	}
	first := all(tr)[0]
	fmt.Println(tr.Name, len(all(tr)), "requests over", tr.Keys(), "keys")
	fmt.Println(first.At, first.Key[:8], first.Group[:8], first.Duration, first.ColdStart, first.Memory>>20, "MiB")
	// Output:
	// azure2021 199 requests over 31 keys
	// 0s e3cdb488 7b2c43a2 78ms 1s 5 MiB
}
