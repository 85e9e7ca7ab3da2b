/**
 * Meta's envelope around one change of a WhatsApp Business Account webhook: `value` is what the change
 * carries (statuses, messages, user preferences), beside the business number's metadata. Pure, so that
 * the Worker's tests and the Node-side ones build the same bodies.
 */
export function metaEnvelope(value: Record<string, unknown>, field = "messages") {
  return {
    object: "whatsapp_business_account",
    entry: [
      {
        id: "102290129340398",
        changes: [
          {
            field,
            value: {
              messaging_product: "whatsapp",
              metadata: { display_phone_number: "15550783881", phone_number_id: "106540352242922" },
              ...value,
            },
          },
        ],
      },
    ],
  };
}
