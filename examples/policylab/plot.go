package main

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
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

// plotSweep draws one line per policy through its points at each warm
// capacity: wasted memory-time (keep-alive 10 min = 100) against the
// cold-start share. Policies not held to a capacity are one point.
func plotSweep(file, traceName string, sweep [][]lab.Result) error {
	p := plot.New()
	var shares []string
	for _, rs := range sweep {
		shares = append(shares, fmt.Sprintf("%g", 100*rs[0].WarmShare))
	}
	p.Title.Text = fmt.Sprintf("%s: cold starts vs wasted memory-time, warm %s %%", traceName, strings.Join(shares, ", "))
	p.X.Label.Text = "wasted warm memory-time (keepalive-10m = 100)"
	p.Y.Label.Text = "cold starts (share of requests, %)"
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	for i := range sweep[0] {
		xys := make(plotter.XYs, 0, len(sweep))
		for _, rs := range sweep {
			r := rs[i]
			x := r.WastedMemoryTimeNorm
			if math.IsNaN(x) {
				x = 0
			}
			pt := plotter.XY{X: x, Y: 100 * (1 - r.HitRate)}
			if len(xys) == 0 || xys[len(xys)-1] != pt {
				xys = append(xys, pt)
			}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		line.Color = plotutil.Color(i)
		line.Dashes = plotutil.Dashes(i / 7)
		points.Color = plotutil.Color(i)
		points.Shape = plotutil.Shape(i)
		p.Add(line, points)
		p.Legend.Add(sweep[0][i].Policy, line, points)
	}
	return p.Save(8*vg.Inch, 6*vg.Inch, file)
}
