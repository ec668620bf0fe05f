package lavalink

// Stats is a Lavalink node's stats op.
type Stats struct {
	Players        int   `json:"players"`
	PlayingPlayers int   `json:"playingPlayers"`
	Uptime         int64 `json:"uptime"`
	Memory         struct {
		Free       int64 `json:"free"`
		Used       int64 `json:"used"`
		Allocated  int64 `json:"allocated"`
		Reservable int64 `json:"reservable"`
	} `json:"memory"`
	CPU struct {
		Cores        int     `json:"cores"`
		SystemLoad   float64 `json:"systemLoad"`
		LavalinkLoad float64 `json:"lavalinkLoad"`
	} `json:"cpu"`
	FrameStats *struct {
		Sent    int `json:"sent"`
		Nulled  int `json:"nulled"`
		Deficit int `json:"deficit"`
	} `json:"frameStats"`
}
