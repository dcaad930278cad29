package trace

import (
	"embed"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/bumba/pooling/internal/catalog"
	"github.com/bumba/pooling/internal/workload"
)

// data holds the project's copies of the public traces; data/README.md
// gives their sources and licences.
//
//go:embed data
var data embed.FS

// The Source lines of the embedded traces, as in data/README.md.
const (
	embeddedAzure2019 = `Azure Functions 2019, 500 functions, 8 hours: Azure Public Dataset "AzureFunctionsDataset2019" (Shahrad et al., "Serverless in the Wild", USENIX ATC 2020), licence CC-BY 4.0; 500-function subset from the public repository vhive-serverless/invitro (MIT), commit 163911a85008446394bb3d7f2ae4695763ad6c05, path data/traces/500/`
	embeddedAzure2021 = `Azure Functions 2021 format sample: dataset AzureFunctionsInvocationTraceForTwoWeeksJan2021 (Zhang et al., SOSP 2021), CC-BY 4.0; from the public repository vhive-serverless/invitro (MIT), commit a1df629445ff7aa996ae1cf411dabc5a8c30376f, path data/traces/example/Azure2021/Azure2021_200.csv`
	embeddedKeys      = `cache2k web07 key access trace: from the public repository ben-manes/caffeine, commit ccef95542a9181182a60f5c6c33d2a0642c73574, simulator resources parser/cache2k/web07.trace.xz, decoded losslessly to one decimal key per line; traces © headissue GmbH / Jens Wilke, CC BY 4.0 (LICENSE.txt)`
)

// formats lists the formats Open and Embedded know.
const formats = "azure2019, azure2021, keys, bumba"

// Open reads a trace of the given format from path:
//
//   - "azure2019": path is the directory holding invocations.csv,
//     durations.csv and memory.csv (all three required); seed places the
//     invocations inside their minutes.
//   - "azure2021": path is the CSV file.
//   - "keys": path is the text file, read with the default KeysOptions.
//   - "bumba": path is ignored (may be ""); the default simulated workload
//     (workload.DefaultConfig) is generated with Seed = seed.
//
// Defaults apply to everything the options would set. Source is the
// format's line followed by the path read.
func Open(format, path string, seed uint64) (*Trace, error) {
	open := func(file string) (fs.File, error) { return os.Open(filepath.Join(path, file)) }
	t, err := load(format, seed, open, func(t *Trace) {
		t.Source += "; read from " + path
	})
	if err != nil {
		return nil, fmt.Errorf("trace: open %s %q: %w", format, path, err)
	}
	return t, nil
}

// Embedded returns one of the project's own copies of the traces (see
// data/README.md): "azure2019" (the 500-function, 8-hour Azure 2019
// subset, invocations placed with seed), "azure2021" (the 199-row format
// sample), "keys" (cache2k web07) or "bumba" (the default simulated
// workload, generated with seed). Source is the trace's provenance and
// licence line.
func Embedded(name string, seed uint64) (*Trace, error) {
	sources := map[string]string{
		"azure2019": embeddedAzure2019, "azure2021": embeddedAzure2021, "keys": embeddedKeys,
	}
	files := map[string]string{
		"azure2019": "data/azure2019", "azure2021": "data/azure2021/Azure2021_200.csv", "keys": "data/keys/web07.keys.txt",
	}
	open := func(file string) (fs.File, error) {
		if file == "" {
			return data.Open(files[name])
		}
		return data.Open(files[name] + "/" + file)
	}
	t, err := load(name, seed, open, func(t *Trace) {
		if s, ok := sources[name]; ok {
			t.Source = s
		}
	})
	if err != nil {
		return nil, fmt.Errorf("trace: embedded %s: %w", name, err)
	}
	return t, nil
}

// load reads format through open, which opens a file of the azure2019
// directory by name, or the trace file itself for "", and lets provenance
// set the Source of a trace read from files.
func load(format string, seed uint64, open func(name string) (fs.File, error), provenance func(*Trace)) (*Trace, error) {
	var t *Trace
	var err error
	switch format {
	case "azure2019":
		var f [3]fs.File
		for i, n := range []string{"invocations.csv", "durations.csv", "memory.csv"} {
			if f[i], err = open(n); err != nil {
				break
			}
			defer f[i].Close()
		}
		if err == nil {
			t, err = ReadAzure2019(f[0], f[1], f[2], Azure2019Options{Seed: seed})
		}
	case "azure2021":
		err = withFile(open, func(r io.Reader) error {
			t, err = ReadAzure2021(r, Azure2021Options{})
			return err
		})
	case "keys":
		err = withFile(open, func(r io.Reader) error {
			t, err = ReadKeys(r, KeysOptions{})
			return err
		})
	case "bumba":
		return generate(seed)
	default:
		return nil, fmt.Errorf("trace: unknown format %q: want one of %s", format, formats)
	}
	if err != nil {
		return nil, err
	}
	provenance(t)
	return t, nil
}

func withFile(open func(string) (fs.File, error), read func(io.Reader) error) error {
	f, err := open("")
	if err != nil {
		return err
	}
	defer f.Close()
	return read(f)
}

// generate builds the default simulated BUMBA workload for seed.
func generate(seed uint64) (*Trace, error) {
	cat, err := catalog.Load()
	if err != nil {
		return nil, fmt.Errorf("trace: bumba: %w", err)
	}
	cfg := workload.DefaultConfig()
	cfg.Seed = seed
	events, err := workload.Generate(cat, cfg)
	if err != nil {
		return nil, fmt.Errorf("trace: bumba: %w", err)
	}
	t := FromWorkload(cat, events)
	t.Source = fmt.Sprintf("%s: workload.DefaultConfig with Seed %d", sourceBumba, seed)
	return t, nil
}
