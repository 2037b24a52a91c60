package config

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// TestSource is where a configuration test case was written.
type TestSource struct {
	File string // the config file as given to Load or Parse, or a test file
	Line int    // line of the [[test]] header; 0 when unknown
}

// String formats the source as "FILE:LINE", leaving out what is unknown.
func (s TestSource) String() string {
	switch {
	case s.File == "" && s.Line == 0:
		return ""
	case s.Line == 0:
		return s.File
	}
	return s.File + ":" + strconv.Itoa(s.Line)
}

// keyLine is the line of key, or when the file does not set it, of the
// element of an array of tables it belongs to ("test[2].name" is on the
// line of "[[test]]" when it is missing).
func keyLine(lines map[string]int, key string) int {
	if l := lines[key]; l > 0 {
		return l
	}
	for k := key; ; {
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			return 0
		}
		k = k[:i]
		if strings.HasSuffix(k, "]") && lines[k] > 0 {
			return lines[k]
		}
	}
}

// LoadWithTests is Load followed by LoadTestFiles, reading the file once:
// the configuration with every test case, and where each was written (one
// TestSource per Config.Tests).
func LoadWithTests(path string) (*Config, []TestSource, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	cfg, idx, err := parse(path, data)
	if err != nil {
		return nil, nil, err
	}
	sources, err := loadTestFiles(cfg, path, idx.lines)
	if err != nil {
		return nil, nil, err
	}
	return cfg, sources, nil
}

// maxTestFileSize bounds a test file; a message file is checked, not read.
const maxTestFileSize = 16 << 20

// LoadTestFiles completes cfg, as returned by Load(configPath), with its
// config tests: it appends the [[test]] tables of every file matching
// test_files (globs, relative to the directory of configPath), in pattern
// order and, within a pattern, in name order; a file matched twice is read
// once. It resolves each test's message_file relative to that directory
// and checks that the file can be opened. It returns where each test of
// cfg.Tests was written; the lines of the config file's own tests are read
// again from configPath (0 when that fails). Call it once per Config.
//
// A test file holds only [[test]] tables, decoded strictly and validated
// like those of the config file. Problems are returned together as Errors,
// each naming its file and line; a pattern that matches no file is one. On
// error cfg is left unchanged.
func LoadTestFiles(cfg *Config, configPath string) ([]TestSource, error) {
	lines := map[string]int{}
	if data, err := readRegular(configPath, maxTestFileSize); err == nil {
		if idx, p := indexDocument(data); p == nil {
			lines = idx.lines
		}
	}
	return loadTestFiles(cfg, configPath, lines)
}

func loadTestFiles(cfg *Config, configPath string, lines map[string]int) ([]TestSource, error) {
	dir := filepath.Dir(configPath)
	at := func(key string) *Problem {
		return &Problem{File: configPath, Line: lines[key], Key: key}
	}
	var errs Errors
	var tests []Test
	var sources []TestSource
	var keys []string // of tests, in their files
	seen := map[string]bool{filepath.Clean(configPath): true}
	for i, pattern := range cfg.TestFiles {
		key := indexKey("test_files", i)
		full := pattern
		if !filepath.IsAbs(full) {
			full = filepath.Join(dir, pattern)
		}
		matches, err := filepath.Glob(full)
		if err != nil {
			p := at(key)
			p.Msg = "invalid pattern " + strconv.Quote(pattern) + ": " + err.Error()
			errs = append(errs, p)
			continue
		}
		if len(matches) == 0 {
			p := at(key)
			p.Msg = strconv.Quote(pattern) + " matches no file in " + strconv.Quote(dir)
			errs = append(errs, p)
			continue
		}
		for _, file := range matches {
			if seen[filepath.Clean(file)] {
				continue
			}
			seen[filepath.Clean(file)] = true
			data, err := readRegular(file, maxTestFileSize)
			if err != nil {
				p := at(key)
				p.Msg = "cannot read " + strconv.Quote(file) + ": " + pathErr(err)
				errs = append(errs, p)
				continue
			}
			ft, lines, ferrs := parseTestFile(cfg, file, data, dir)
			errs = append(errs, ferrs...)
			for j := range ft {
				tests = append(tests, ft[j])
				sources = append(sources, TestSource{File: file, Line: lines[j]})
				keys = append(keys, indexKey("test", j))
			}
		}
	}
	all := slices.Clone(cfg.Tests)
	allSources := make([]TestSource, len(all))
	for i := range allSources {
		allSources[i] = TestSource{File: configPath, Line: lines[indexKey("test", i)]}
	}
	for i := range all {
		if p := resolveMessageFile(&all[i], dir); p != nil {
			p.Key = indexKey("test", i) + ".message_file"
			p.File, p.Line = configPath, keyLine(lines, p.Key)
			errs = append(errs, p)
		}
	}
	nMain := len(all)
	all = append(all, tests...)
	allSources = append(allSources, sources...)
	errs = append(errs, duplicateNames(all, allSources, keys, nMain)...)
	if len(errs) > 0 {
		return nil, errs
	}
	cfg.Tests = all
	return allSources, nil
}

// parseTestFile decodes and validates the [[test]] tables of one test
// file against the services and upstreams of cfg.
func parseTestFile(cfg *Config, name string, data []byte, dir string) ([]Test, []int, Errors) {
	idx, syntax := indexDocument(data)
	if syntax != nil {
		syntax.File = name
		return nil, nil, Errors{syntax}
	}
	var errs Errors
	// Anything but [[test]] tables is refused once per top-level key.
	other := make(map[string]bool)
	for _, e := range idx.entries {
		if len(e.parts) == 0 || e.parts[0] == "test" || other[e.parts[0]] {
			continue
		}
		other[e.parts[0]] = true
		errs = append(errs, &Problem{Line: e.line, Key: joinKey("", e.parts[0]),
			Msg: "a test file holds only [[test]] tables"})
	}
	mine := func(key string) bool {
		return key == "" || key == "test" || strings.HasPrefix(key, "test[") || strings.HasPrefix(key, "test.")
	}
	work := bytes.Clone(data)
	for _, ip := range idx.problems {
		blank(work, ip.blank)
		if mine(ip.problem.Key) {
			ip.problem.Line = idx.lines[ip.problem.Key]
			errs = append(errs, ip.problem)
		}
	}
	decoded, decodeErrs := decode(work, idx)
	for _, p := range decodeErrs {
		if mine(p.Key) {
			errs = append(errs, p)
		}
	}
	var tests []Test
	var lines []int
	if decoded != nil {
		tmp := *cfg
		tmp.Tests = decoded.Tests
		if tmp.Tests == nil {
			tmp.Tests = []Test{}
		}
		var verrs Errors
		tmp.validateTests(&verrs)
		refused := slices.Clip(errs)
		for _, p := range verrs {
			if !covered(refused, p.Key) {
				p.Line = keyLine(idx.lines, p.Key)
				errs = append(errs, p)
			}
		}
		tests = tmp.Tests
		for i := range tests {
			lines = append(lines, idx.lines[indexKey("test", i)])
			if p := resolveMessageFile(&tests[i], dir); p != nil {
				p.Key = indexKey("test", i) + ".message_file"
				p.Line = keyLine(idx.lines, p.Key)
				errs = append(errs, p)
			}
		}
	}
	for _, p := range errs {
		p.File = name
	}
	slices.SortStableFunc(errs, func(a, b *Problem) int { return lineOrder(a.Line) - lineOrder(b.Line) })
	return tests, lines, errs
}

// duplicateNames reports a test from a test file whose name an earlier
// test in another file has. The first main tests are those of the config
// file; keys names the others in their files. Duplicates within one file
// were reported by validateTests.
func duplicateNames(tests []Test, sources []TestSource, keys []string, main int) Errors {
	var errs Errors
	first := make(map[string]int)
	for i, t := range tests {
		j, dup := first[t.Name]
		if !dup {
			first[t.Name] = i
			continue
		}
		if i < main || sources[i].File == sources[j].File {
			continue // reported by validateTests
		}
		errs = append(errs, &Problem{File: sources[i].File, Line: sources[i].Line, Key: keys[i-main] + ".name",
			Msg: strconv.Quote(t.Name) + " is also the name of the test at " + sources[j].String()})
	}
	return errs
}

// resolveMessageFile makes t.MessageFile relative to dir (the config
// file's directory) and checks that it is a regular file.
func resolveMessageFile(t *Test, dir string) *Problem {
	if t.MessageFile == "" {
		return nil
	}
	name := t.MessageFile
	if !filepath.IsAbs(name) {
		name = filepath.Join(dir, name)
	}
	st, err := os.Stat(name)
	switch {
	case err != nil:
		return &Problem{Msg: "cannot read " + strconv.Quote(name) + ": " + pathErr(err)}
	case !st.Mode().IsRegular():
		return &Problem{Msg: "cannot read " + strconv.Quote(name) + ": not a regular file"}
	}
	t.MessageFile = name
	return nil
}

// pathErr is the reason of a *fs.PathError, without the repeated path.
func pathErr(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
