package trace

import (
	"bufio"
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

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

// Formats lists the formats Open reads ("synthetic" and "bumba" are
// generated: Open ignores their path).
func Formats() []string {
	return []string{"azure2019", "azure2021", "keys", "arc", "csv", "bumba", "synthetic"}
}

// EmbeddedNames lists the traces Embedded has.
func EmbeddedNames() []string { return []string{"azure2019", "azure2021", "keys", "bumba"} }

// ErrUnknownFormat is wrapped when a format name is unknown or a file's
// format cannot be told from its name and first line.
var ErrUnknownFormat = errors.New("unknown trace format")

// Open reads a trace of the given format from path ("" or "auto": the
// format Detect finds):
//
//   - "azure2019": path is a directory or its invocations file (see
//     Azure2019Files for the layouts); the durations and memory files are
//     optional, their absence noted in Source.
//   - "azure2021", "keys", "arc", "csv": path is the file.
//   - "bumba": the default simulated workload with Seed; path ignored.
//   - "synthetic": Synthetic with the default size and Seed; path ignored.
//
// Source is the format's line followed by the path read.
func Open(format, path string, opt Options) (*Trace, error) {
	if format == "" || format == "auto" {
		f, err := Detect(path)
		if err != nil {
			return nil, err
		}
		format = f
	}
	var t *Trace
	var err error
	switch format {
	case "azure2019":
		t, err = openAzure2019(path, opt)
	case "azure2021", "keys", "arc", "csv":
		var f *os.File
		if f, err = os.Open(path); err == nil {
			defer f.Close()
			t, err = readFormat(format, f, opt)
		}
	case "bumba":
		return generate(opt.Seed)
	case "synthetic":
		return Synthetic(SyntheticOptions{}, opt)
	default:
		return nil, fmt.Errorf("trace: format %q: want one of %s: %w", format, strings.Join(Formats(), ", "), ErrUnknownFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("trace: open %s %q: %w", format, path, err)
	}
	t.Source += "; read from " + path
	return t, nil
}

// readFormat reads one of the single-file formats.
func readFormat(format string, r io.Reader, opt Options) (*Trace, error) {
	switch format {
	case "azure2021":
		return ReadAzure2021(r, opt)
	case "keys":
		return ReadKeys(r, opt)
	case "arc":
		return ReadARC(r, opt)
	case "csv":
		return ReadCSV(r, opt)
	}
	return nil, fmt.Errorf("trace: format %q: %w", format, ErrUnknownFormat)
}

// Azure2019Layout names the three files of one Azure 2019 trace.
type Azure2019Layout struct {
	Invocations, Durations, Memory string
}

var (
	invitroSized = regexp.MustCompile(`^(.+)_inv\.csv$`)
	publicDay    = regexp.MustCompile(`^invocations_per_function_md\.anon\.(d\d+)\.csv$`)
)

// sides names the durations and memory files that go with an
// invocations file in each known layout:
//
//   - invocations.csv, durations.csv, memory.csv (invitro's samples);
//   - N_inv.csv, N_run.csv, N_mem.csv (invitro's sized samples);
//   - invocations_per_function_md.anon.dNN.csv,
//     function_durations_percentiles.anon.dNN.csv,
//     app_memory_percentiles.anon.dNN.csv (the public dataset's days).
//
// Another invocations file name has no side files.
func sides(inv string) Azure2019Layout {
	dir, base := filepath.Split(inv)
	l := Azure2019Layout{Invocations: inv}
	switch {
	case base == "invocations.csv":
		l.Durations, l.Memory = dir+"durations.csv", dir+"memory.csv"
	case invitroSized.MatchString(base):
		n := invitroSized.FindStringSubmatch(base)[1]
		l.Durations, l.Memory = dir+n+"_run.csv", dir+n+"_mem.csv"
	case publicDay.MatchString(base):
		d := publicDay.FindStringSubmatch(base)[1]
		l.Durations = dir + "function_durations_percentiles.anon." + d + ".csv"
		l.Memory = dir + "app_memory_percentiles.anon." + d + ".csv"
	}
	return l
}

// Azure2019Files finds the files of the Azure 2019 trace at path: a
// directory holding exactly one invocations file of a known layout (see
// sides), or an invocations file. Side files that do not exist are left
// "".
func Azure2019Files(path string) (Azure2019Layout, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Azure2019Layout{}, err
	}
	inv := path
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return Azure2019Layout{}, err
		}
		var found []string
		for _, e := range ents {
			n := e.Name()
			if n == "invocations.csv" || invitroSized.MatchString(n) || publicDay.MatchString(n) {
				found = append(found, n)
			}
		}
		switch {
		case len(found) == 0:
			return Azure2019Layout{}, fmt.Errorf("trace: %s: no invocations file (invocations.csv, N_inv.csv or invocations_per_function_md.anon.dNN.csv): %w", path, os.ErrNotExist)
		case slices.Contains(found, "invocations.csv"):
			found = []string{"invocations.csv"}
		case len(found) > 1:
			return Azure2019Layout{}, fmt.Errorf("trace: %s holds %d invocations files (%s): give one of them as the path: %w",
				path, len(found), strings.Join(found, ", "), ErrUnknownFormat)
		}
		inv = filepath.Join(path, found[0])
	}
	l := sides(inv)
	for _, p := range []*string{&l.Durations, &l.Memory} {
		if *p != "" {
			if _, err := os.Stat(*p); err != nil {
				*p = ""
			}
		}
	}
	return l, nil
}

func openAzure2019(path string, opt Options) (*Trace, error) {
	l, err := Azure2019Files(path)
	if err != nil {
		return nil, err
	}
	var files [3]io.Reader
	for i, p := range []string{l.Invocations, l.Durations, l.Memory} {
		if p == "" {
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		files[i] = f
	}
	t, err := ReadAzure2019(files[0], files[1], files[2], opt)
	if err != nil {
		return nil, err
	}
	t.Source += "; invocations " + l.Invocations
	if l.Durations == "" {
		t.Source += "; no durations file (durations 0)"
	}
	if l.Memory == "" {
		t.Source += "; no memory file (every function the default memory)"
	}
	return t, nil
}

// Detect tells the format of the trace at path: a directory is
// azure2019 (when it holds an invocations file); a file is told by its
// name (the Azure 2019 layouts), then by its first line: a header naming
// HashFunction is azure2019, one naming app, func and end_timestamp is
// azure2021, one decimal integer is keys, two to four blank-separated
// integers are arc, comma-separated fields starting with a number (or a
// header naming a time and a key column) are csv. Anything else is an
// error wrapping ErrUnknownFormat that quotes the line.
func Detect(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.IsDir() {
		if _, err := Azure2019Files(path); err != nil {
			return "", err
		}
		return "azure2019", nil
	}
	base := filepath.Base(path)
	if base == "invocations.csv" || invitroSized.MatchString(base) || publicDay.MatchString(base) {
		return "azure2019", nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	first, err := bufio.NewReaderSize(io.LimitReader(f, maxRecord), maxRecord).ReadSlice('\n')
	if err != nil && err != io.EOF {
		if errors.Is(err, bufio.ErrBufferFull) {
			return "", fmt.Errorf("trace: %s: first line longer than %d bytes: give -format: %w", path, maxRecord, ErrUnknownFormat)
		}
		return "", err
	}
	if format := sniff(first); format != "" {
		return format, nil
	}
	shown := bytes.TrimRight(first, "\r\n")
	if len(shown) > 80 {
		shown = append(shown[:80:80], "…"...)
	}
	return "", fmt.Errorf("trace: %s: cannot tell the format from its first line %q: give one of %s: %w",
		path, shown, strings.Join(Formats()[:5], ", "), ErrUnknownFormat)
}

// sniff tells a format from a first line, "" when it cannot.
func sniff(line []byte) string {
	text := strings.TrimSpace(strings.TrimPrefix(string(line), "\ufeff"))
	low := strings.ToLower(text)
	fields := strings.Split(low, ",")
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	switch {
	case text == "":
		return ""
	case slices.Contains(fields, "hashfunction"):
		return "azure2019"
	case slices.Contains(fields, "app") && slices.Contains(fields, "func") && slices.Contains(fields, "end_timestamp"):
		return "azure2021"
	case decimal([]byte(text)):
		return "keys"
	}
	if ws := strings.Fields(text); len(ws) >= 2 && len(ws) <= 4 && !strings.Contains(text, ",") {
		all := true
		for _, w := range ws {
			all = all && decimal([]byte(w)) && w[0] != '-'
		}
		if all {
			return "arc"
		}
	}
	if len(fields) >= 2 {
		if _, err := parseNumber(fields[0], maxSeconds); err == nil && fields[1] != "" {
			return "csv"
		}
		if _, _, err := csvHeader(fields); err == nil {
			return "csv"
		}
	}
	return ""
}

// Embedded returns one of the project's own copies of the traces (see
// data/README.md): "azure2019" (the 500-function, 8-hour Azure 2019
// subset, invocations placed with opt.Seed), "azure2021" (the 199-row
// format sample), "keys" (cache2k web07) or "bumba" (the default
// simulated workload, generated with opt.Seed). Source is the trace's
// provenance and licence line.
func Embedded(name string, opt Options) (*Trace, error) {
	var t *Trace
	var err error
	read := func(file string, fn func(r io.Reader) (*Trace, error)) {
		var f fs.File
		if f, err = data.Open(file); err == nil {
			defer f.Close()
			t, err = fn(f)
		}
	}
	switch name {
	case "azure2019":
		var f [3]fs.File
		for i, n := range []string{"invocations.csv", "durations.csv", "memory.csv"} {
			if f[i], err = data.Open("data/azure2019/" + n); err != nil {
				return nil, fmt.Errorf("trace: embedded %s: %w", name, err)
			}
			defer f[i].Close()
		}
		t, err = ReadAzure2019(f[0], f[1], f[2], opt)
		if err == nil {
			t.Source = embeddedAzure2019
		}
	case "azure2021":
		read("data/azure2021/Azure2021_200.csv", func(r io.Reader) (*Trace, error) { return ReadAzure2021(r, opt) })
		if err == nil {
			t.Source = embeddedAzure2021
		}
	case "keys":
		read("data/keys/web07.keys.txt", func(r io.Reader) (*Trace, error) { return ReadKeys(r, opt) })
		if err == nil {
			t.Source = embeddedKeys
		}
	case "bumba":
		return generate(opt.Seed)
	default:
		return nil, fmt.Errorf("trace: embedded %q: want one of %s: %w", name, strings.Join(EmbeddedNames(), ", "), ErrUnknownFormat)
	}
	if err != nil {
		return nil, fmt.Errorf("trace: embedded %s: %w", name, err)
	}
	return t, nil
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
