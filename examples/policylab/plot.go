package main

import (
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/bumba/pooling/internal/lab"
)

// plotTradeoff draws one point per policy: wasted memory-time (keep-alive
// 10 min = 100) against cold starts, labelled with the policy's name.
func plotTradeoff(file, traceName string, rs []lab.Result) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: cold starts vs wasted memory-time", traceName)
	p.X.Label.Text = "wasted warm memory-time (keepalive-10m = 100)"
	p.Y.Label.Text = "cold starts (share of requests, %)"
	xys := make(plotter.XYs, len(rs))
	labels := make([]string, len(rs))
	for i, r := range rs {
		xys[i].X = r.WastedMemoryTimeNorm
		xys[i].Y = 100 * (1 - r.HitRate)
		if math.IsNaN(xys[i].X) {
			xys[i].X = 0
		}
		labels[i] = r.Policy
	}
	sc, err := plotter.NewScatter(xys)
	if err != nil {
		return err
	}
	lb, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return err
	}
	p.Add(sc, lb, plotter.NewGrid())
	return p.Save(7*vg.Inch, 5*vg.Inch, file)
}
