package discordsim

import (
	"encoding/json"
	"slices"
	"unicode/utf8"
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

// validateModal checks the data of a MODAL response: a custom_id of 1 to
// 100 characters, a title of 1 to 45 and 1 to 5 components.
func validateModal(data json.RawMessage) *APIError {
	var modal struct {
		CustomID   *string           `json:"custom_id"`
		Title      *string           `json:"title"`
		Components []json.RawMessage `json:"components"`
	}
	if json.Unmarshal(data, &modal) != nil {
		return formError([]string{"data"}, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
	}
	switch {
	case modal.CustomID == nil || *modal.CustomID == "":
		return requiredField([]string{"data", "custom_id"})
	case utf8.RuneCountInString(*modal.CustomID) > 100:
		return maxLength([]string{"data", "custom_id"}, 100)
	case modal.Title == nil || *modal.Title == "":
		return requiredField([]string{"data", "title"})
	case utf8.RuneCountInString(*modal.Title) > 45:
		return maxLength([]string{"data", "title"}, 45)
	case len(modal.Components) < 1 || len(modal.Components) > 5:
		return badLength([]string{"data", "components"}, 1, 5)
	}
	return nil
}
