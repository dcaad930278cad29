//go:build !race

package sequence

const raceOn = false
