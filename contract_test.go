package alumnid_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/alumnid/alumnid"
	"github.com/alumnid/alumnid/internal/httpapi"
)

// The released contracts: api/released/openapi-<version>.yaml, one per release, written by
// `task release-contract`. The newest is the one clients were promised.
const releasedGlob = "api/released/openapi-*.yaml"

// TestContractCompatible is the breaking-change gate: openapi.yaml must not break a client of the
// latest released contract — unless its major version (info.version) is higher, which is how an
// intentional breaking change is announced. oasdiff decides what breaks a client.
func TestContractCompatible(t *testing.T) {
	released := latestRelease(t)
	base, err := os.ReadFile(released)
	if err != nil {
		t.Fatal(err)
	}
	g := contractGate(t, base, alumnid.OpenAPI)
	switch {
	case g.exempt:
		t.Logf("openapi.yaml is version %s, a new major version after %s: breaking changes are allowed", g.revision, g.base)
	case g.breaking:
		t.Errorf("openapi.yaml (version %s) breaks clients of the released contract %s (version %s):\n\n%s\n"+
			"Keep the change compatible (add, don't remove or tighten), or make a new major version: "+
			"set info.version to %d.0.0 (see docs/DEVELOPING.md).",
			g.revision, released, g.base, g.report, majorOf(t, g.base)+1)
	}
}

// TestContractGate shows the gate refuses what breaks a client, lets additions through, and lets
// anything through with a new major version. Each case changes a copy of openapi.yaml.
func TestContractGate(t *testing.T) {
	tests := []struct {
		name   string
		change func(doc *openapi3.T)
		want   string // "", "breaking" or "exempt"
	}{
		{"unchanged", func(*openapi3.T) {}, ""},
		{"new optional query parameter and new operation", func(doc *openapi3.T) {
			op := doc.Paths.Value("/api/v1/users").Get
			op.Parameters = append(op.Parameters, &openapi3.ParameterRef{Value: openapi3.NewQueryParameter("nickname").
				WithSchema(openapi3.NewStringSchema())})
			ping := *op
			ping.OperationID = "ping"
			doc.Paths.Set("/api/v1/ping", &openapi3.PathItem{Get: &ping})
		}, ""},
		{"optional response field removed", func(doc *openapi3.T) {
			delete(doc.Components.Schemas["Alumnus"].Value.Properties, "linkedinUrl")
		}, "breaking"},
		{"response field removed", func(doc *openapi3.T) {
			s := doc.Components.Schemas["Alumnus"].Value
			delete(s.Properties, "id")
			s.Required = slices.DeleteFunc(s.Required, func(p string) bool { return p == "id" })
		}, "breaking"},
		{"optional query parameter made required", func(doc *openapi3.T) {
			doc.Components.Parameters["Q"].Value.Required = true
		}, "breaking"},
		{"operation removed", func(doc *openapi3.T) {
			doc.Paths.Delete("/api/v1/alumni/export")
		}, "breaking"},
		{"response field removed in a new major version", func(doc *openapi3.T) {
			delete(doc.Components.Schemas["Alumnus"].Value.Properties, "employment")
			doc.Info.Version = "2.0.0"
		}, "exempt"},
	}
	dir := t.TempDir()
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			doc, err := httpapi.LoadSpec(alumnid.OpenAPI)
			if err != nil {
				t.Fatal(err)
			}
			tt.change(doc)
			revision, err := doc.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			g := contractGateFiles(t, "openapi.yaml", writeFile(t, filepath.Join(dir, fmt.Sprintf("%d.json", i)), revision))
			got := ""
			switch {
			case g.exempt:
				got = "exempt"
			case g.breaking:
				got = "breaking"
			}
			if got != tt.want {
				t.Errorf("gate says %q, want %q; oasdiff:\n%s", got, tt.want, g.report)
			}
		})
	}
}

// gate is the verdict on a revision of the contract against a base.
type gate struct {
	base, revision string // their info.version
	exempt         bool   // the revision has a higher major version: anything goes
	breaking       bool   // oasdiff found a change that breaks clients of the base
	report         string // what oasdiff printed
}

func contractGate(t *testing.T, base, revision []byte) gate {
	t.Helper()
	dir := t.TempDir()
	return contractGateFiles(t, writeFile(t, filepath.Join(dir, "base.yaml"), base),
		writeFile(t, filepath.Join(dir, "revision.yaml"), revision))
}

// contractGateFiles compares two contract files. It fails the test when either does not load,
// when the major version goes down, or when oasdiff fails for another reason than a finding.
func contractGateFiles(t *testing.T, base, revision string) gate {
	t.Helper()
	g := gate{base: versionOf(t, base), revision: versionOf(t, revision)}
	switch from, to := majorOf(t, g.base), majorOf(t, g.revision); {
	case to < from:
		t.Fatalf("%s: version %s is older than %s", revision, g.revision, g.base)
	case to > from:
		g.exempt = true
		return g
	}
	// --fail-on WARN: oasdiff's warnings (a pattern changed...) may break clients too.
	// api/oasdiff-levels.txt raises what oasdiff rates lower but breaks code compiled against
	// the generated TypeScript client: a removed optional response field (its type disappears).
	// Exit status 1 is "found one"; any other is an error.
	cmd := exec.Command("go", "tool", "-modfile=tools/go.mod", "oasdiff", "breaking",
		"--fail-on", "WARN", "--severity-levels", "api/oasdiff-levels.txt",
		"--format", "text", "--color", "never", base, revision)
	out, err := cmd.CombinedOutput()
	g.report = string(out)
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		g.breaking = true
	default:
		t.Fatalf("oasdiff breaking %s %s: %v\n%s", base, revision, err, out)
	}
	return g
}

// latestRelease returns the released contract with the highest version.
func latestRelease(t *testing.T) string {
	t.Helper()
	files, err := filepath.Glob(releasedGlob)
	if err != nil || len(files) == 0 {
		t.Fatalf("no released contract matches %s (err %v): run 'task release-contract'", releasedGlob, err)
	}
	slices.SortFunc(files, func(a, b string) int {
		return slices.Compare(semver(t, versionOf(t, a)), semver(t, versionOf(t, b)))
	})
	latest := files[len(files)-1]
	if want := "openapi-" + versionOf(t, latest) + ".yaml"; filepath.Base(latest) != want {
		t.Fatalf("%s holds version %s; name it %s", latest, versionOf(t, latest), want)
	}
	return latest
}

// versionOf returns info.version of a contract file (YAML or JSON). It does not validate the
// contract (TestContract does, for openapi.yaml): the broken copies above would fail on their
// examples, which still show the removed field.
func versionOf(t *testing.T, path string) string {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return doc.Info.Version
}

func majorOf(t *testing.T, version string) int {
	t.Helper()
	return semver(t, version)[0]
}

// semver parses MAJOR.MINOR.PATCH, the form info.version takes in this contract.
func semver(t *testing.T, version string) []int {
	t.Helper()
	parts := strings.Split(version, ".")
	if len(parts) != 3 {
		t.Fatalf("info.version %q is not MAJOR.MINOR.PATCH", version)
	}
	v := make([]int, 3)
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			t.Fatalf("info.version %q is not MAJOR.MINOR.PATCH", version)
		}
		v[i] = n
	}
	return v
}

func writeFile(t *testing.T, path string, b []byte) string {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
