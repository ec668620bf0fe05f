package voice

import "github.com/chopsticks-bot/chopsticks/refusal"

// The refusals of the music commands: the request changed nothing, and the
// Message is a sentence for the user. A refusal about one case (which page,
// which volume) is made with With and still matches its declaration with
// errors.Is. Codes are global (package refusal), hence the "music_"
// prefix; they cross the music RPC, so a code once used keeps its meaning.
//
// Anything else a command returns is a failure (Redis or Lavalink down, a
// bug): the user gets a generic answer and the node logs the details.
var (
	ErrNotInVoice     = refusal.New("music_not_in_voice", "You need to be in a voice channel to use music commands.")
	ErrNothingPlaying = refusal.New("music_nothing_playing", "Nothing is playing in your voice channel.")
	ErrNoAgentFree    = refusal.New("music_no_agent_free", "No music agent is free right now, try again in a little while.")
	ErrNoResults      = refusal.New("music_no_results", "No tracks found for that search.")
	ErrLoadFailed     = refusal.New("music_load_failed", "That track could not be loaded. Try another search or link.")
	ErrAlreadyPaused  = refusal.New("music_already_paused", "The music is already paused.")
	ErrNotPaused      = refusal.New("music_not_paused", "The music is not paused.")
	ErrQueueFull      = refusal.New("music_queue_full", "The queue is full. Remove or skip some tracks first.")
	// ErrBadArgument is a value the command cannot take (a volume out of
	// range, an unknown filter, a position past the end); it is used With a
	// message that says what is wrong.
	ErrBadArgument = refusal.New("music_bad_argument", "That value is not valid here.")
	// ErrMusicUnreachable means the node playing in the caller's voice
	// channel did not answer a forwarded command in time (it may be
	// stopping or just died; its agent then moves to another node within
	// seconds).
	ErrMusicUnreachable = refusal.New("music_unreachable", "The music player's node is not answering; try again in a moment.")
	// ErrVoiceFailed means the agent could not connect to the caller's
	// voice channel (lavalink.ErrVoiceFailed); its session is ended.
	ErrVoiceFailed = refusal.New("music_voice_failed", "The music agent could not connect to your voice channel; check that it may join and speak there, then try again.")
)
