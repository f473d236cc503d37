package host

import (
	"encoding/json"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/parcours-sante/parcours/sdk/portal"
)

// openAPIDoc is the part of an OpenAPI 3.1 document these tests read.
type openAPIDoc struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Parameters map[string]openAPIParameter `json:"parameters"`
		Responses  map[string]struct {
			Content map[string]struct {
				Schema struct {
					Ref string `json:"$ref"`
				} `json:"schema"`
			} `json:"content"`
		} `json:"responses"`
		Schemas map[string]json.RawMessage `json:"schemas"`
	} `json:"components"`
}

type openAPIParameter struct {
	Ref  string `json:"$ref"`
	Name string `json:"name"`
	In   string `json:"in"`
}

type openAPIOperation struct {
	OperationID string             `json:"operationId"`
	Parameters  []openAPIParameter `json:"parameters"`
	Responses   map[string]struct {
		Ref string `json:"$ref"`
	} `json:"responses"`
}

var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Fatalf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	return doc
}

// operations returns "METHOD path" -> operation.
func operations(t *testing.T, doc openAPIDoc) map[string]openAPIOperation {
	t.Helper()
	ops := map[string]openAPIOperation{}
	for path, item := range doc.Paths {
		for key, raw := range item {
			if !slices.Contains(httpMethods, key) {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", key, path, err)
			}
			ops[strings.ToUpper(key)+" "+path] = op
		}
	}
	return ops
}

// resolveParameter follows a #/components/parameters reference.
func resolveParameter(t *testing.T, doc openAPIDoc, p openAPIParameter) openAPIParameter {
	t.Helper()
	if p.Ref == "" {
		return p
	}
	name, ok := strings.CutPrefix(p.Ref, "#/components/parameters/")
	r, found := doc.Components.Parameters[name]
	if !ok || !found {
		t.Errorf("unresolved parameter reference %q", p.Ref)
	}
	return r
}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	documented := map[string]string{} // "METHOD path" -> operationId
	for key, op := range operations(t, doc) {
		documented[key] = op.OperationID
	}
	routed := map[string]string{}
	for _, rt := range (&Host{}).apiRoutes() {
		key := rt.method + " " + rt.pattern
		if _, dup := routed[key]; dup {
			t.Errorf("route %s twice", key)
		}
		routed[key] = rt.op
	}
	for key, op := range routed {
		if got, ok := documented[key]; !ok {
			t.Errorf("route %s (%s) is not in openapi.json", key, op)
		} else if got != op {
			t.Errorf("%s: operationId %q in openapi.json, %q in the routes", key, got, op)
		}
	}
	for key, op := range documented {
		if _, ok := routed[key]; !ok {
			t.Errorf("openapi.json documents %s (%s), which has no route", key, op)
		}
	}
	ids := map[string]bool{}
	for key, op := range documented {
		if op == "" {
			t.Errorf("%s has no operationId", key)
		}
		if ids[op] {
			t.Errorf("operationId %q used twice", op)
		}
		ids[op] = true
	}
}

func TestOpenAPIPathParameters(t *testing.T) {
	doc := loadOpenAPI(t)
	placeholder := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range doc.Paths {
		var shared []openAPIParameter
		if raw, ok := item["parameters"]; ok {
			if err := json.Unmarshal(raw, &shared); err != nil {
				t.Fatalf("%s parameters: %v", path, err)
			}
		}
		for _, method := range httpMethods {
			raw, ok := item[method]
			if !ok {
				continue
			}
			var op openAPIOperation
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatal(err)
			}
			declared := map[string]bool{}
			for _, p := range append(slices.Clone(shared), op.Parameters...) {
				p = resolveParameter(t, doc, p)
				if p.In == "path" {
					declared[p.Name] = true
				}
			}
			want := map[string]bool{}
			for _, m := range placeholder.FindAllStringSubmatch(path, -1) {
				want[m[1]] = true
				if !declared[m[1]] {
					t.Errorf("%s %s: path parameter %q not declared", strings.ToUpper(method), path, m[1])
				}
			}
			for name := range declared {
				if !want[name] {
					t.Errorf("%s %s: declares path parameter %q not in the path", strings.ToUpper(method), path, name)
				}
			}
		}
	}
}

func TestOpenAPIErrorResponses(t *testing.T) {
	doc := loadOpenAPI(t)
	errResp, ok := doc.Components.Responses["Error"]
	if !ok {
		t.Fatal("no #/components/responses/Error")
	}
	if got := errResp.Content["application/json"].Schema.Ref; got != "#/components/schemas/Error" {
		t.Fatalf("the Error response's schema is %q, want #/components/schemas/Error", got)
	}
	statuses := map[int]bool{}
	for _, c := range portal.Codes() {
		statuses[c.Status()] = true
	}
	for key, op := range operations(t, doc) {
		if len(op.Responses) == 0 {
			t.Errorf("%s has no responses", key)
		}
		for status, resp := range op.Responses {
			n, err := strconv.Atoi(status)
			if err != nil {
				t.Errorf("%s: response %q is not a status code", key, status)
				continue
			}
			if n < 400 {
				continue
			}
			if resp.Ref != "#/components/responses/Error" {
				t.Errorf("%s %s: response is %q, want the Error response", key, status, resp.Ref)
			}
			if !statuses[n] {
				t.Errorf("%s documents status %d, which no error code has", key, n)
			}
		}
	}
}

func TestOpenAPIErrorCodes(t *testing.T) {
	doc := loadOpenAPI(t)
	var schema struct {
		Properties struct {
			Error struct {
				Required   []string `json:"required"`
				Properties struct {
					Code struct {
						Enum []portal.ErrorCode `json:"enum"`
					} `json:"code"`
				} `json:"properties"`
			} `json:"error"`
		} `json:"properties"`
	}
	raw, ok := doc.Components.Schemas["Error"]
	if !ok {
		t.Fatal("no Error schema")
	}
	if err := json.Unmarshal(raw, &schema); err != nil {
		t.Fatal(err)
	}
	enum := schema.Properties.Error.Properties.Code.Enum
	for _, c := range portal.Codes() {
		if !slices.Contains(enum, c) {
			t.Errorf("error code %q is missing from the Error schema's enum", c)
		}
	}
	codes := portal.Codes()
	for _, c := range enum {
		if !slices.Contains(codes, c) {
			t.Errorf("the Error schema lists %q, which is not a portal error code", c)
		}
	}
	if len(enum) != len(slices.Compact(slices.Sorted(slices.Values(enum)))) {
		t.Errorf("duplicate codes in the enum %q", enum)
	}
	if !slices.Contains(schema.Properties.Error.Required, "code") || !slices.Contains(schema.Properties.Error.Required, "message") {
		t.Errorf("error requires %q, want code and message", schema.Properties.Error.Required)
	}
}

func TestOpenAPIReferencesResolve(t *testing.T) {
	doc := loadOpenAPI(t)
	var all any
	if err := json.Unmarshal(OpenAPI(), &all); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if ref, ok := x.(string); ok && k == "$ref" {
					parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
					if !strings.HasPrefix(ref, "#/components/") || len(parts) != 2 {
						t.Errorf("unexpected $ref %q", ref)
						continue
					}
					var found bool
					switch parts[0] {
					case "schemas":
						_, found = doc.Components.Schemas[parts[1]]
					case "responses":
						_, found = doc.Components.Responses[parts[1]]
					case "parameters":
						_, found = doc.Components.Parameters[parts[1]]
					}
					if !found {
						t.Errorf("$ref %q does not resolve", ref)
					}
				}
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(all)
}
