package config

import (
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// posIndex maps dotted field paths to where they stand in the YAML text, so that
// validation errors (which know paths) can be reported with line and column, and
// decoder errors (which know positions) can be reported with paths.
type posIndex struct {
	byPath map[string]pos
	keys   []keyPos
}

type pos struct{ line, col int }

type keyPos struct {
	path      string
	key       string
	line, col int
	valueLine int
	valueCol  int
	scalar    bool
	value     string
}

func newPosIndex(data []byte) (*posIndex, error) {
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, err
	}
	idx := &posIndex{byPath: map[string]pos{}}
	for _, d := range f.Docs {
		idx.walk("", d.Body)
	}
	return idx, nil
}

func (x *posIndex) walk(path string, n ast.Node) {
	switch v := n.(type) {
	case nil:
	case *ast.MappingNode:
		for _, mv := range v.Values {
			x.walk(path, mv)
		}
	case *ast.MappingValueNode:
		key := strings.Trim(v.Key.String(), `"'`)
		p := key
		if path != "" {
			p = path + "." + key
		}
		t := v.Key.GetToken()
		kp := keyPos{path: p, key: key}
		if t != nil {
			kp.line, kp.col = t.Position.Line, t.Position.Column
			x.byPath[p] = pos{t.Position.Line, t.Position.Column}
		}
		if v.Value != nil {
			if vt := v.Value.GetToken(); vt != nil {
				kp.valueLine, kp.valueCol = vt.Position.Line, vt.Position.Column
			}
			switch v.Value.(type) {
			case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
			default:
				kp.scalar = true
				kp.value = strings.Trim(v.Value.String(), `"'`)
			}
		}
		x.keys = append(x.keys, kp)
		x.walk(p, v.Value)
	case *ast.SequenceNode:
		for i, e := range v.Values {
			p := fmt.Sprintf("%s[%d]", path, i)
			if t := e.GetToken(); t != nil {
				x.byPath[p] = pos{t.Position.Line, t.Position.Column}
			}
			x.walk(p, e)
		}
	case *ast.TagNode:
		x.walk(path, v.Value)
	case *ast.AnchorNode:
		x.walk(path, v.Value)
	}
}

// lookup returns the position of path, or of its nearest ancestor that is present
// (a missing required key is reported where its parent is).
func (x *posIndex) lookup(path string) (int, int) {
	if x == nil {
		return 0, 0
	}
	for p := path; p != ""; p = parentPath(p) {
		if ps, ok := x.byPath[p]; ok {
			return ps.line, ps.col
		}
	}
	return 1, 1
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i <= 0 {
		return ""
	}
	return p[:i]
}

// pathAt returns the dotted path of the key or value at a position.
func (x *posIndex) pathAt(line, col int) string {
	if x == nil {
		return ""
	}
	for _, k := range x.keys {
		if (k.line == line && k.col == col) || (k.valueLine == line && k.valueCol == col) {
			return k.path
		}
	}
	return ""
}

// secretKeys are key names that would hold a secret if written literally.
var secretKeys = []string{"token", "password", "secret", "private_key", "api_key", "pat", "client_secret", "access_token", "webhook_secret", "webhook_secrets"}

type secretHit struct {
	path, key string
	line, col int
}

// literalSecrets finds keys that look like they hold a secret in the file itself.
func (x *posIndex) literalSecrets() []secretHit {
	var out []secretHit
	for _, k := range x.keys {
		name := strings.ToLower(k.key)
		if strings.HasSuffix(name, "_env") || strings.HasSuffix(name, "_file") {
			continue
		}
		for _, s := range secretKeys {
			if name == s || strings.HasSuffix(name, "_"+s) {
				out = append(out, secretHit{path: k.path, key: k.key, line: k.line, col: k.col})
				break
			}
		}
	}
	return out
}

// yamlProblem turns a goccy decode or parse error into a Problem with a position and,
// where the index knows it, a dotted path.
func yamlProblem(name string, err error, idx *posIndex) Problem {
	var ve *valueError
	if errors.As(err, &ve) && idx != nil {
		for _, k := range idx.keys {
			if k.scalar && k.value == ve.value {
				return Problem{File: name, Line: k.valueLine, Col: k.valueCol, Path: k.path, Msg: ve.Error()}
			}
		}
	}
	var ye yaml.Error
	if errors.As(err, &ye) {
		tk := ye.GetToken()
		msg := ye.GetMessage()
		var uf *yaml.UnknownFieldError
		if errors.As(err, &uf) {
			msg = strings.Replace(msg, "unknown field", "unknown key", 1)
		}
		msg = strings.TrimSpace(msg)
		if tk != nil {
			p := Problem{File: name, Line: tk.Position.Line, Col: tk.Position.Column, Msg: cleanMsg(msg)}
			p.Path = idx.pathAt(tk.Position.Line, tk.Position.Column)
			if p.Path == "" {
				p.Path = idx.pathAt(tokenKeyPos(tk))
			}
			return p
		}
		return Problem{File: name, Msg: cleanMsg(msg)}
	}
	return Problem{File: name, Msg: cleanMsg(err.Error())}
}

// tokenKeyPos finds the key token a value token belongs to, for errors that point at
// a value.
func tokenKeyPos(tk *token.Token) (int, int) {
	for t := tk.Prev; t != nil; t = t.Prev {
		if t.Type == token.MappingValueType && t.Prev != nil {
			return t.Prev.Position.Line, t.Prev.Position.Column
		}
		if t.Position.Line != tk.Position.Line {
			break
		}
	}
	return 0, 0
}

// cleanMsg rewrites Go type names in decoder messages into words a user knows.
func cleanMsg(msg string) string {
	r := strings.NewReplacer(
		"config.Duration", "duration",
		"[]config.", "list of ",
		"config.", "",
		"[]string", "list of strings",
		"map[string]string", "mapping",
	)
	return r.Replace(msg)
}
