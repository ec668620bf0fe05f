package node

import (
	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
)

// currentApplication reads the bot's application with the documented
// GET /applications/@me. arikawa's CurrentApplication requests
// ".../api/v9//oauth2/applications/@me" (a double slash, a route Discord
// does not define), so the node makes the request itself.
func currentApplication(c *api.Client) (*discord.Application, error) {
	var app *discord.Application
	return app, c.RequestJSON(&app, "GET", api.EndpointApplications+"@me")
}
