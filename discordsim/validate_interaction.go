package discordsim

import (
	"encoding/json"
	"slices"
)

// The rules of an interaction response (interactions-receiving-and-responding.mdx,
// Interaction Response Structure): pure functions over the decoded body,
// which the callback handler in interactions.go applies before it touches
// the interaction.

// callbackBody is an interaction response as sent.
type callbackBody struct {
	Type *int            `json:"type"`
	Data json.RawMessage `json:"data"`
}

// callbackTypes are the response types each interaction type accepts.
var callbackTypes = map[int][]int{
	InteractionPing:         {CallbackPong},
	InteractionCommand:      {CallbackChannelMessageWithSource, CallbackDeferredChannelMessage, CallbackModal},
	InteractionComponent:    {CallbackChannelMessageWithSource, CallbackDeferredChannelMessage, CallbackDeferredUpdateMessage, CallbackUpdateMessage, CallbackModal},
	InteractionAutocomplete: {CallbackAutocompleteResult},
	InteractionModalSubmit:  {CallbackChannelMessageWithSource, CallbackDeferredChannelMessage, CallbackDeferredUpdateMessage, CallbackUpdateMessage},
}

// validateCallback checks cb, the response to an interaction of type
// interactionType, and returns the message body it carries (empty for the
// types that carry none). old is the message an UPDATE_MESSAGE response
// edits, nil otherwise or when it is gone.
func validateCallback(interactionType int, cb callbackBody, old *Message) (messageBody, *APIError) {
	var body messageBody
	if cb.Type == nil {
		return body, requiredField([]string{"type"})
	}
	if !slices.Contains(callbackTypes[interactionType], *cb.Type) {
		return body, formError([]string{"type"}, "INTERACTION_RESPONSE_TYPE_INVALID", "Interaction response type is invalid for this interaction type")
	}
	switch *cb.Type {
	case CallbackChannelMessageWithSource, CallbackUpdateMessage, CallbackDeferredChannelMessage:
		if len(cb.Data) > 0 && string(cb.Data) != "null" {
			if err := json.Unmarshal(cb.Data, &body); err != nil {
				return body, formError([]string{"data"}, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
			}
		} else if *cb.Type == CallbackChannelMessageWithSource {
			return body, requiredField([]string{"data"})
		}
		flags := FlagEphemeral | FlagSuppressEmbeds | FlagSuppressNotifications | FlagComponentsV2
		if *cb.Type == CallbackDeferredChannelMessage {
			flags = FlagEphemeral // the only flag a deferred response takes
		}
		if *cb.Type != CallbackUpdateMessage {
			old = nil
		}
		return body, body.validate([]string{"data"}, flags, *cb.Type == CallbackChannelMessageWithSource, old)
	case CallbackModal:
		return body, validateModal(cb.Data)
	}
	return body, nil
}
