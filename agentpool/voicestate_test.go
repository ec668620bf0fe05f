package agentpool

import (
	"encoding/json"
	"testing"
)

// TestVoiceStateCommand checks the op 4 payload an agent sends to join or
// leave, and that an ID that is not a snowflake is refused before sending.
func TestVoiceStateCommand(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, guild, channel string
		want                 string // "" when refused
	}{
		{"join", "1001", "2002", `{"guild_id":"1001","channel_id":"2002","self_mute":false,"self_deaf":true}`},
		{"leave", "1001", "", `{"guild_id":"1001","channel_id":null,"self_mute":false,"self_deaf":true}`},
		{"bad guild", "general", "2002", ""},
		{"no guild", "", "2002", ""},
		{"bad channel", "1001", "music", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := voiceStateCommand(tc.guild, tc.channel)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("accepted: %+v", cmd)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cmd.Op() != 4 {
				t.Errorf("op %d, want 4", cmd.Op())
			}
			b, err := json.Marshal(cmd)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Errorf("payload %s, want %s", b, tc.want)
			}
		})
	}
}
