package eligibility

// Reasons the service gives on its own, outside any rule document: they
// describe the decision record, not the person.
const (
	ReasonDecisionMissing = "decision-not-found"
	ReasonDecisionExpired = "decision-expired"
)

var builtinMessages = map[string]Message{
	ReasonDecisionMissing: {
		EN: "We could not find your eligibility answers. Please answer the eligibility questions again.",
		ES: "No encontramos sus respuestas de elegibilidad. Responda de nuevo las preguntas de elegibilidad.",
	},
	ReasonDecisionExpired: {
		EN: "Your eligibility answers have expired. Please answer the eligibility questions again.",
		ES: "Sus respuestas de elegibilidad han vencido. Responda de nuevo las preguntas de elegibilidad.",
	},
}

func builtinMessage(code, lang string) string {
	if m, ok := builtinMessages[code]; ok {
		return m.In(lang)
	}
	return code
}
