// Package wire is the rate limiter's Redis format: the Lua scripts, the
// keys and values they keep, how decisions are packed into a script call's
// arguments and read back from its reply, and the batching of concurrent
// decisions into one call. Package ratelimit holds the rules and what to do
// with the answers; nothing here knows what a command or a user is.
package wire
