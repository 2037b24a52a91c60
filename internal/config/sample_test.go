package config

import (
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const samplePath = "../../etc/posthorn.toml"

// TestSampleLoads checks that the sample file, as shipped with every
// setting commented out, gives exactly the defaults.
func TestSampleLoads(t *testing.T) {
	t.Parallel()
	cfg, err := Load(samplePath)
	if err != nil {
		t.Fatalf("Load(%s): %v", samplePath, err)
	}
	if want := Default(); !reflect.DeepEqual(cfg, want) {
		t.Errorf("sample differs from Default:\n got %+v\nwant %+v", cfg, want)
	}
}

// settingLine matches a commented-out setting: "#key = value".
var settingLine = regexp.MustCompile(`(?m)^#([a-z_]+ = .*)$`)

// TestSampleDefaultsAreTrue uncomments every setting of the sample and
// checks that the result still equals Default (except the example host
// name), so that the defaults the sample states are the real ones, and that
// the sample states every key.
func TestSampleDefaultsAreTrue(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(samplePath)
	if err != nil {
		t.Fatal(err)
	}
	active := settingLine.ReplaceAll(data, []byte("$1"))
	cfg, err := Parse("uncommented sample", active)
	if err != nil {
		t.Fatalf("uncommented sample: %v\n%s", err, active)
	}
	want := Default()
	want.Hostname = "mail.example.org"
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("uncommented sample differs from Default:\n got %+v\nwant %+v", cfg, want)
	}
	idx, perr := indexDocument(active)
	if perr != nil {
		t.Fatal(perr)
	}
	for _, key := range allKeys() {
		if _, ok := idx.lines[key]; !ok {
			t.Errorf("the sample does not state %s", key)
		}
	}
}

// TestDocsListEveryKey checks that docs/config.md has a heading for every
// key.
func TestDocsListEveryKey(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../../docs/config.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range allKeys() {
		if !strings.Contains(string(data), "### `"+key+"`") {
			t.Errorf("docs/config.md has no heading \"### `%s`\"", key)
		}
	}
}

// allKeys lists the dotted key of every leaf setting of Config.
func allKeys() []string {
	var keys []string
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for _, name := range tagNames(t) {
			ft, _ := fieldByTag(t, name)
			if ft.Kind() == reflect.Struct {
				walk(joinKey(prefix, name), ft)
				continue
			}
			keys = append(keys, joinKey(prefix, name))
		}
	}
	walk("", reflect.TypeFor[Config]())
	slices.Sort(keys)
	return keys
}
