package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// compareGolden compares got with the golden file, or rewrites the file
// when POSTHORN_UPDATE_GOLDEN=1.
func compareGolden(t *testing.T, golden, got string) {
	t.Helper()
	if os.Getenv("POSTHORN_UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with POSTHORN_UPDATE_GOLDEN=1 to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s\n--- got\n%s--- want\n%s", golden, got, want)
	}
}

func TestArrayOfTablesLines(t *testing.T) {
	t.Parallel()
	doc := `hostname = "relay.example.org"

[[service]]
name = "gerrit"
networks = ["10.0.0.5"]

[[test]]
name = "one"
to = ["a@example.com"]
expect = "relayed"

# comment

[[test]]
name = "two"
client = "192.0.2.1"
to = ["a@example.com"]
expect = "refused"
`
	cfg, idx, err := parse("p.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Services) != 1 || cfg.Services[0].Networks[0] != "10.0.0.5/32" {
		t.Errorf("services = %+v", cfg.Services)
	}
	if len(cfg.Tests) != 2 || cfg.Tests[1].Client != "192.0.2.1" {
		t.Fatalf("tests = %+v", cfg.Tests)
	}
	sources, err := loadTestFiles(cfg, "p.toml", idx.lines)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"p.toml:7", "p.toml:14"} {
		if got := sources[i].String(); got != want {
			t.Errorf("source of test %d = %s, want %s", i, got, want)
		}
	}
	if got := idx.lines["test[1].client"]; got != 16 {
		t.Errorf("line of test[1].client = %d, want 16", got)
	}
}

func TestTestSourceString(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		s    TestSource
		want string
	}{
		{TestSource{}, ""},
		{TestSource{File: "a.toml"}, "a.toml"},
		{TestSource{File: "a.toml", Line: 3}, "a.toml:3"},
	} {
		if got := c.s.String(); got != c.want {
			t.Errorf("%+v.String() = %q, want %q", c.s, got, c.want)
		}
	}
}

func TestTOMLRoundTripWithTests(t *testing.T) {
	t.Parallel()
	doc := "hostname = \"relay.example.org\"\n[[service]]\nname = \"s\"\nnetworks = [\"10.0.0.0/8\"]\n[[test]]\nname = \"x\"\nservice = \"s\"\nto = [\"a@example.com\"]\nexpect = \"relayed\"\n"
	cfg, err := Parse("a.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	out, err := cfg.TOML()
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse("round.toml", out)
	if err != nil {
		t.Fatalf("TOML output does not parse back: %v\n%s", err, out)
	}
	if back.Fingerprint() != cfg.Fingerprint() || len(back.Tests) != 1 || len(back.Services) != 1 {
		t.Errorf("round trip changed the configuration:\n%s", out)
	}
}

func TestInlineArrayOfTables(t *testing.T) {
	t.Parallel()
	doc := "hostname = \"relay.example.org\"\ntest = [\n  { name = \"a\", to = [\"x@example.com\"], expect = \"relayed\" },\n  { name = \"b\", to = [\"x@example.com\"], expect = \"sent\", colour = 1 },\n]\n"
	_, err := Parse("inline.toml", []byte(doc))
	want := "inline.toml:4: test[1].colour: unknown key\n" +
		"inline.toml:4: test[1].expect: must be one of \"relayed\", \"refused\", \"accepted\", \"held\", \"rejected\", \"discarded\"; is \"sent\""
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
}

func TestLoadTestFiles(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "tests-ok.toml")
	cfg, sources, err := LoadWithTests(path)
	if err != nil {
		t.Fatal(err)
	}
	// LoadTestFiles on a Config from Load finds the same.
	cfg2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	sources2, err := LoadTestFiles(cfg2, path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(cfg, cfg2) || !reflect.DeepEqual(sources, sources2) {
		t.Errorf("LoadWithTests and Load+LoadTestFiles differ:\n%+v\n%+v", sources, sources2)
	}
	type row struct{ name, src, upstream, msg string }
	want := []row{
		{"gerrit relays", "testdata/tests-ok.toml:12", "mx1.example.org:25", ""},
		{"message from a file", "testdata/tests-ok.toml:19", "", "testdata/tests-ok.d/msg.eml"},
		{"stranger refused", "testdata/tests-ok.d/a.toml:3", "", ""},
		{"inline tables work too", "testdata/tests-ok.d/b.toml:1", "mx2.example.org:587", ""},
		{"message file relative to the config", "testdata/tests-ok.d/b.toml:7", "", "testdata/tests-ok.d/msg.eml"},
	}
	if len(cfg.Tests) != len(want) {
		t.Fatalf("got %d tests, want %d: %+v", len(cfg.Tests), len(want), cfg.Tests)
	}
	for i, w := range want {
		tc := cfg.Tests[i]
		got := row{tc.Name, sources[i].String(), tc.ExpectUpstream, tc.MessageFile}
		if got != w {
			t.Errorf("test %d = %+v, want %+v", i, got, w)
		}
	}
}

func TestLoadTestFilesErrors(t *testing.T) {
	t.Parallel()
	path := filepath.Join("testdata", "bad-test-files.toml")
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	before := len(cfg.Tests)
	sources, err := LoadTestFiles(cfg, path)
	if sources != nil {
		t.Errorf("sources %v along with an error", sources)
	}
	var errs Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		t.Fatalf("error %T is not a non-empty Errors: %v", err, err)
	}
	if len(cfg.Tests) != before {
		t.Errorf("failed LoadTestFiles changed the tests")
	}
	compareGolden(t, filepath.Join("testdata", "bad-test-files.golden"), err.Error()+"\n")
}

func TestBadTestTables(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join("testdata", "bad-test-tables.toml"))
	if err == nil {
		t.Fatal("Load accepted bad [[test]] tables")
	}
	compareGolden(t, filepath.Join("testdata", "bad-test-tables.golden"), err.Error()+"\n")
}

func TestLoadTestFilesAbsoluteAndMissing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tf := filepath.Join(dir, "t.toml")
	if err := os.WriteFile(tf, []byte("[[test]]\nname = \"t\"\nto = [\"a@example.com\"]\nexpect = \"relayed\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mainPath := filepath.Join(dir, "posthorn.toml")
	doc := "hostname = \"relay.example.org\"\ntest_files = [" + `"` + tf + `", "gone.toml"]` + "\n"
	if err := os.WriteFile(mainPath, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(mainPath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = LoadTestFiles(cfg, mainPath)
	want := mainPath + `:2: test_files[1]: "gone.toml" matches no file in "` + dir + `"`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if err := os.WriteFile(filepath.Join(dir, "gone.toml"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	sources, err := LoadTestFiles(cfg, mainPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Tests) != 1 || len(sources) != 1 || sources[0].String() != tf+":1" {
		t.Errorf("tests %+v from %v", cfg.Tests, sources)
	}
}

func TestLoadTestFilesWithoutOrigin(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.Tests = []Test{{Name: "x", To: []string{"a@example.com"}, Expect: ExpectRelayed}}
	if errs := cfg.Validate(); errs != nil {
		t.Fatal(errs)
	}
	sources, err := LoadTestFiles(cfg, "/nonexistent/posthorn.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) != 1 || sources[0] != (TestSource{File: "/nonexistent/posthorn.toml"}) {
		t.Errorf("sources = %+v", sources)
	}
}
