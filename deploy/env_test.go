package deploy

import (
	"testing"

	"github.com/chopsticks-bot/chopsticks/node"
)

// standardOTEL are the OpenTelemetry SDK's own variables the deployments
// set; they are not flags of `chopsticks node`.
var standardOTEL = map[string]bool{"OTEL_EXPORTER_OTLP_ENDPOINT": true, "OTEL_SERVICE_NAME": true}

// TestNodeEnvAgreesWithTheCode: every variable NodeEnv lists is a setting
// of `chopsticks node` (or a standard OTEL_* one), marked Required exactly
// when the node refuses to start without it, and every required setting is
// listed, so that deployments set what the node needs and nothing it
// ignores.
func TestNodeEnvAgreesWithTheCode(t *testing.T) {
	settings := map[string]node.Setting{}
	for _, s := range node.Settings() {
		settings[s.Env] = s
	}
	listed := map[string]bool{}
	for _, v := range NodeEnv() {
		listed[v.Name] = true
		s, ok := settings[v.Name]
		switch {
		case standardOTEL[v.Name]:
			if v.Required {
				t.Errorf("%s is marked required; tracing is optional", v.Name)
			}
		case !ok:
			t.Errorf("%s is no setting of chopsticks node", v.Name)
		case v.Required != s.Required:
			t.Errorf("%s: Required = %v, but the node's is %v", v.Name, v.Required, s.Required)
		}
	}
	for _, s := range settings {
		if s.Required && !listed[s.Env] {
			t.Errorf("the node requires %s, which NodeEnv does not list", s.Env)
		}
	}
}
