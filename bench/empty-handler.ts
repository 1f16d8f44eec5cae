/** The baseline of the cold-start benchmark: a handler that does nothing. */
export const handler = async () => ({ statusCode: 200, body: "{}" });
