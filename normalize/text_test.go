package normalize

import (
	"reflect"
	"strings"
	"testing"
)

func TestTokenize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		opts TokenizerOptions
		want []string
	}{
		{"plain words and stop words", "The DataNode is NOT starting", TokenizerOptions{}, []string{"datanode", "data", "node", "starting"}},
		{"camelCase keeps whole", "readBlockLocations failed", TokenizerOptions{}, []string{"readblocklocations", "read", "block", "locations", "failed"}},
		{"dotted config key", "set dfs.namenode.name.dir.", TokenizerOptions{}, []string{"set", "dfs.namenode.name.dir", "dfs", "namenode", "name", "dir"}},
		{"snake case", "max_retry_count", TokenizerOptions{}, []string{"max_retry_count", "max", "retry", "count"}},
		{"acronym boundary", "HTTPServer2", TokenizerOptions{}, []string{"httpserver2", "http", "server"}},
		{"unicode", "Ошибка при запуске 服务器", TokenizerOptions{}, []string{"ошибка", "при", "запуске", "服务器"}},
		{"noise ids dropped", "blk_1073741825 at 20140101120000", TokenizerOptions{}, []string{"blk"}},
		{"light stemming", "failures retries processing", TokenizerOptions{Stem: StemLight}, []string{"failure", "retry", "process"}},
		{"parts only", "readBlockLocations", TokenizerOptions{NoWholeIdent: true}, []string{"read", "block", "locations"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Tokenize(tt.in, tt.opts)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Tokenize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestClean(t *testing.T) {
	t.Parallel()
	in := "h1. Problem\n*NameNode* crashes, see [the docs|https://example.com/x] and {{dfs.replication}}.\n" +
		"{code:java}\nint x = 1;\n{code}\n{noformat}\n2014-01-01 12:00:00 ERROR boom\n{noformat}\n" +
		"java.io.IOException: bad\n\tat org.a.B.c(B.java:1)\n\nAfter the trace.\n```\nfenced();\n```\n"
	c := Clean(in)
	for _, want := range []string{"Problem", "NameNode crashes", "the docs https://example.com/x", "dfs.replication", "After the trace."} {
		if !strings.Contains(c.Prose, want) {
			t.Errorf("prose %q lacks %q", c.Prose, want)
		}
	}
	for _, bad := range []string{"h1.", "{code", "int x", "ERROR boom", "at org.a.B.c", "fenced"} {
		if strings.Contains(c.Prose, bad) {
			t.Errorf("prose %q contains %q", c.Prose, bad)
		}
	}
	for _, want := range []string{"int x = 1;", "ERROR boom", "at org.a.B.c(B.java:1)", "fenced();"} {
		if !strings.Contains(c.Code, want) {
			t.Errorf("code %q lacks %q", c.Code, want)
		}
	}
}

func TestExtractSignatures(t *testing.T) {
	t.Parallel()
	java := `Exception in thread "main" java.lang.NullPointerException: oops
	at org.apache.hadoop.hdfs.DFSClient.open(DFSClient.java:123)
	at org.apache.hadoop.fs.FileSystem.open(FileSystem.java:45)
	at java.lang.Thread.run(Thread.java:745)
	at org.apache.hadoop.Main.run(Main.java:1)
	at org.apache.hadoop.Main.main(Main.java:2)
Caused by: java.net.ConnectException: Connection refused
	at org.apache.hadoop.ipc.Client.call(Client.java:9)`
	py := "Traceback (most recent call last):\n  File \"/app/run.py\", line 3, in <module>\n  File \"/app/lib/db.py\", line 40, in connect\nValueError: bad dsn"
	goTrace := "panic: runtime error: index out of range\n\ngoroutine 1 [running]:\nmain.handler(0x1)\n\t/src/main.go:12 +0x1d\nnet/http.(*conn).serve(0xc0)\n"
	misc := "HTTP 503 from api.partner.example.com:8443 after upgrading to version 2.7.3; ORA-00942 and ECONNREFUSED, exit code 137. See HDFS-1234."
	tests := []struct {
		name string
		in   string
		want []Signature
	}{
		{"java", java, []Signature{
			{SigException, "nullpointerexception"}, {SigException, "connectexception"},
			{SigFrame, "org.apache.hadoop.hdfs.DFSClient.open"}, {SigFrame, "org.apache.hadoop.fs.FileSystem.open"},
			{SigFrame, "org.apache.hadoop.Main.run"}, {SigFrame, "org.apache.hadoop.ipc.Client.call"},
		}},
		{"python", py, []Signature{{SigException, "valueerror"}, {SigFrame, "db.py:connect"}, {SigFrame, "run.py:<module>"}}},
		{"go", goTrace, []Signature{{SigFrame, "main.handler"}, {SigFrame, "net/http.(*conn).serve"}, {SigException, "panic: runtime error: index out of range"}}},
		{"codes hosts versions", misc, []Signature{
			{SigErrorCode, "ORA-00942"}, {SigErrorCode, "ECONNREFUSED"}, {SigErrorCode, "exit 137"},
			{SigHTTP, "503"}, {SigHost, "api.partner.example.com"}, {SigVersion, "2.7.3"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := ExtractSignatures(tt.in, SignatureOptions{NotErrorCodePrefixes: []string{"HDFS"}})
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ExtractSignatures =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}
