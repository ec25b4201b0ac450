// helm-render renders a Helm chart directory the way `helm template` does, for the features the
// Plimsoll chart uses, so that the chart can be checked on machines where no helm binary can be
// installed (test/unit/helm-chart.test.ts). It is our own program, not Helm: it uses the same template
// engine Helm uses (Go's text/template with Sprig v3's function map, less env and expandenv), Helm's own
// additions (include, tpl, required, toYaml, fromYaml, toJson, fromJson, lookup), the same top-level
// objects (.Values, .Release, .Chart, .Capabilities, .Template), missingkey=zero with "<no value>"
// removed, values.yaml coalesced under the user's values, and values.schema.json checked against the
// coalesced values with gojsonschema (the JSON Schema library of Helm 3 up to 3.17).
//
// Not done, because the chart does not use them: subcharts, .Files, toToml, --set's comma lists and
// array indexes, sorting documents by kind (documents are printed in template order; callers compare
// objects, not order).
//
// Usage: helm-render -chart DIR [-namespace NS] [-name RELEASE] [-f values.yaml]... [-set k=v]...
//
//	[-set-string k=v]... [-notes]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"github.com/ghodss/yaml"
	"github.com/xeipuuv/gojsonschema"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(v string) error { *m = append(*m, v); return nil }

func main() {
	chartDir := flag.String("chart", "", "the chart's directory")
	namespace := flag.String("namespace", "default", "the release's namespace")
	name := flag.String("name", "release-name", "the release's name")
	notes := flag.Bool("notes", false, "print templates/NOTES.txt rendered, not the manifests")
	var files, sets, setStrings multi
	flag.Var(&files, "f", "a values file (repeatable; later ones win)")
	flag.Var(&sets, "set", "key=value, typed as helm --set types it (repeatable)")
	flag.Var(&setStrings, "set-string", "key=value, always a string (repeatable)")
	flag.Parse()
	if *chartDir == "" {
		fail(errors.New("-chart DIR is required"))
	}
	out, err := render(*chartDir, *namespace, *name, files, sets, setStrings, *notes)
	if err != nil {
		fail(err)
	}
	os.Stdout.WriteString(out)
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "Error: %s\n", err)
	os.Exit(1)
}

// chartMetadata is the part of Chart.yaml that .Chart exposes, under Helm's field names.
type chartMetadata struct {
	APIVersion  string `json:"apiVersion"`
	Name        string `json:"name"`
	Version     string `json:"version"`
	AppVersion  string `json:"appVersion"`
	Description string `json:"description"`
	Type        string `json:"type"`
	KubeVersion string `json:"kubeVersion"`
}

func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	out := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return out, nil
}

func render(dir, namespace, name string, files, sets, setStrings []string, notes bool) (string, error) {
	var meta chartMetadata
	data, err := os.ReadFile(filepath.Join(dir, "Chart.yaml"))
	if err != nil {
		return "", err
	}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		return "", fmt.Errorf("Chart.yaml: %w", err)
	}
	if meta.APIVersion != "v2" {
		return "", fmt.Errorf("Chart.yaml: apiVersion %q, expected v2", meta.APIVersion)
	}
	defaults, err := readYAMLMap(filepath.Join(dir, "values.yaml"))
	if err != nil {
		return "", err
	}
	user := map[string]interface{}{}
	for _, f := range files {
		m, err := readYAMLMap(f)
		if err != nil {
			return "", err
		}
		user = merge(user, m)
	}
	for _, s := range sets {
		if err := setValue(user, s, true); err != nil {
			return "", err
		}
	}
	for _, s := range setStrings {
		if err := setValue(user, s, false); err != nil {
			return "", err
		}
	}
	values := coalesce(user, defaults)
	if err := validate(dir, meta.Name, values); err != nil {
		return "", err
	}

	top := map[string]interface{}{
		"Values": values,
		"Release": map[string]interface{}{
			"Name": name, "Namespace": namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		"Chart": meta,
		"Capabilities": map[string]interface{}{
			"KubeVersion": map[string]interface{}{"Version": "v1.30.0", "Major": "1", "Minor": "30"},
		},
	}
	return execute(dir, meta.Name, top, notes)
}

// merge lays b over a, recursively for maps (values files: later ones win).
func merge(a, b map[string]interface{}) map[string]interface{} {
	for k, v := range b {
		if bm, ok := v.(map[string]interface{}); ok {
			if am, ok := a[k].(map[string]interface{}); ok {
				a[k] = merge(am, bm)
				continue
			}
		}
		a[k] = v
	}
	return a
}

// coalesce gives the user's values over the chart's defaults; a user's null deletes the default.
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range defaults {
		out[k] = v
	}
	for k, v := range user {
		if v == nil {
			delete(out, k)
			continue
		}
		um, uok := v.(map[string]interface{})
		dm, dok := out[k].(map[string]interface{})
		if uok && dok {
			out[k] = coalesce(um, dm)
		} else {
			out[k] = v
		}
	}
	return out
}

// setValue applies one --set a.b=value: true/false are booleans, null is null, a whole number
// without a leading zero is an int64, anything else a string (helm's strvals typing).
func setValue(values map[string]interface{}, expr string, typed bool) error {
	eq := strings.IndexByte(expr, '=')
	if eq <= 0 {
		return fmt.Errorf("--set %q: expected key=value", expr)
	}
	keys := strings.Split(expr[:eq], ".")
	raw := expr[eq+1:]
	var val interface{} = raw
	if typed {
		switch {
		case strings.EqualFold(raw, "true"):
			val = true
		case strings.EqualFold(raw, "false"):
			val = false
		case strings.EqualFold(raw, "null"):
			val = nil
		case raw == "0":
			val = int64(0)
		case !strings.HasPrefix(raw, "0"):
			if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
				val = n
			}
		}
	}
	m := values
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]interface{})
		if !ok {
			next = map[string]interface{}{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = val
	return nil
}

// validate checks the coalesced values against values.schema.json, when the chart has one.
func validate(dir, chart string, values map[string]interface{}) error {
	schema, err := os.ReadFile(filepath.Join(dir, "values.schema.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	doc, err := json.Marshal(values)
	if err != nil {
		return err
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(doc))
	if err != nil {
		return fmt.Errorf("values.schema.json: %w", err)
	}
	if result.Valid() {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n", chart)
	for _, e := range result.Errors() {
		fmt.Fprintf(&b, "- %s\n", e)
	}
	return errors.New(strings.TrimSuffix(b.String(), "\n"))
}

func funcMap(t *template.Template) template.FuncMap {
	f := sprig.TxtFuncMap()
	// Helm removes these: a chart must not read the renderer's environment.
	delete(f, "env")
	delete(f, "expandenv")
	f["toYaml"] = func(v interface{}) string {
		data, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(data), "\n")
	}
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["toJson"] = func(v interface{}) string {
		data, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(data)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	f["include"] = func(name string, data interface{}) (string, error) {
		var buf bytes.Buffer
		err := t.ExecuteTemplate(&buf, name, data)
		return buf.String(), err
	}
	f["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := t.Clone()
		if err != nil {
			return "", err
		}
		parsed, err := clone.New("tpl").Parse(text)
		if err != nil {
			return "", err
		}
		var buf bytes.Buffer
		err = parsed.Execute(&buf, data)
		return strings.ReplaceAll(buf.String(), "<no value>", ""), err
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return nil, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return nil, errors.New(msg)
		}
		return v, nil
	}
	// `helm template` has no cluster to look in: lookup finds nothing.
	f["lookup"] = func(string, string, string, string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return f
}

var docSeparator = regexp.MustCompile(`(?:^|\s*\n)---\s*`)

func execute(dir, chart string, top map[string]interface{}, notes bool) (string, error) {
	templatesDir := filepath.Join(dir, "templates")
	entries, err := os.ReadDir(templatesDir)
	if err != nil {
		return "", err
	}
	var names []string
	t := template.New("gotpl").Option("missingkey=zero")
	t.Funcs(funcMap(t))
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		text, err := os.ReadFile(filepath.Join(templatesDir, e.Name()))
		if err != nil {
			return "", err
		}
		name := path.Join(chart, "templates", e.Name())
		if _, err := t.New(name).Parse(string(text)); err != nil {
			return "", fmt.Errorf("parse error in %s: %w", name, err)
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var out strings.Builder
	for _, name := range names {
		base := path.Base(name)
		isNotes := base == "NOTES.txt"
		if strings.HasPrefix(base, "_") || isNotes != notes {
			continue
		}
		vals := map[string]interface{}{}
		for k, v := range top {
			vals[k] = v
		}
		vals["Template"] = map[string]interface{}{"Name": name, "BasePath": path.Join(chart, "templates")}
		var buf bytes.Buffer
		if err := t.ExecuteTemplate(&buf, name, vals); err != nil {
			return "", fmt.Errorf("render error in %s: %w", name, err)
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if notes {
			out.WriteString(text)
			continue
		}
		for _, doc := range docSeparator.Split(text, -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", name, strings.TrimRight(doc, " \t\n"))
		}
	}
	return out.String(), nil
}
