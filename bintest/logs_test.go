package bintest

import "testing"

func TestLogLine(t *testing.T) {
	tests := []struct {
		line string
		ok   bool
	}{
		{`{"time":"t","level":"INFO","msg":"x","node":"n1"}`, true},
		{`{"msg":"x","node":"node-1","node":"lavalink-a"}`, false},
		{`{"msg":"x","g":{"node":"a"},"node":"b"}`, true},
		{`{"msg":"x","g":{"a":1,"a":2}}`, false},
		{`{"msg":"x","l":[{"a":1},{"a":2,"a":3}]}`, false},
		{`time=t level=INFO msg=x`, false},
		{`["x"]`, false},
		{`{"msg":"x"} {"msg":"y"}`, false},
	}
	for _, tt := range tests {
		if err := LogLine([]byte(tt.line)); (err == nil) != tt.ok {
			t.Errorf("LogLine(%s) = %v, want ok %v", tt.line, err, tt.ok)
		}
	}
}
