using System.Text.Json;
using System.Text.Json.Nodes;
using Aisoule.Core.Messaging.Messages;
using Aisoule.Core.Messaging.Sending;
using Aisoule.Core.Storage;

namespace Aisoule.Core.WhatsApp;

/// <summary>
/// Meta's wire format for a send: the body of the Cloud API's <c>/messages</c> call, built once at request time and
/// stored with the message, and the callback data that brings our ids back on every status webhook.
/// </summary>
public static class MetaPayload
{
    /// <summary>
    /// The most characters <c>template.components</c> or <c>interactive</c> may take in the stored payload
    /// (<see cref="Chars"/>). With every other field at its limit (text 4,096, caption 1,024, filename 240, url
    /// 2,000, template name 512, each character escaped) the payload stays under the 32,768 characters of one property.
    /// </summary>
    public const int MaxStructuredChars = 28_000;

    // Meta's body is stored as written: compact, with the default (HTML-safe) escapes of System.Text.Json.
    private static readonly JsonSerializerOptions Json = JsonSerializerOptions.Default;

    /// <summary>How many characters a JSON value takes in a stored payload: compact, every non-ASCII character a <c>\uXXXX</c> escape.</summary>
    public static int Chars(JsonElement element) => StoredSize.JsonChars(element, Json);

    /// <summary>The body for Meta's <c>/messages</c>; <c>biz_opaque_callback_data</c> brings our ids back on every status.</summary>
    /// <remarks>
    /// The phone goes in <c>to</c>; a contact known only by its business-scoped user id gets Meta's <c>recipient</c>
    /// field instead (<c>to</c> does not take one), with <c>recipient_type</c> still <c>individual</c>.
    /// </remarks>
    public static string Build(string workspaceId, string messageId, SendDraft draft, Recipient recipient)
    {
        ArgumentNullException.ThrowIfNull(draft);
        ArgumentNullException.ThrowIfNull(recipient);
        var body = new JsonObject
        {
            ["messaging_product"] = "whatsapp",
            ["recipient_type"] = "individual",
        };
        if (recipient.Phone is { } phone)
        {
            body["to"] = phone.TrimStart('+');
        }
        else
        {
            body["recipient"] = recipient.UserId;
        }

        body["type"] = draft.Type;
        body["biz_opaque_callback_data"] = Callback(workspaceId, messageId);
        switch (draft.Type)
        {
            case "text":
                body["text"] = new JsonObject { ["body"] = draft.Text, ["preview_url"] = draft.Text!.Contains("https://", StringComparison.OrdinalIgnoreCase) };
                break;
            case "template":
                var template = new JsonObject { ["name"] = draft.Template!.Name, ["language"] = new JsonObject { ["code"] = draft.Template.Language } };
                if (draft.Template.Components is { ValueKind: JsonValueKind.Array } components)
                {
                    template["components"] = JsonNode.Parse(components.GetRawText());
                }

                body["template"] = template;
                break;
            case "interactive":
                body["interactive"] = JsonNode.Parse(draft.Interactive!.Value.GetRawText());
                break;
            default:
                var media = new JsonObject { ["link"] = draft.Media!.Url };
                if (draft.Media.Caption is { } caption && draft.Type != "audio")
                {
                    media["caption"] = caption;
                }

                if (draft.Media.Filename is { } filename && draft.Type == "document")
                {
                    media["filename"] = filename;
                }

                body[draft.Type] = media;
                break;
        }

        return body.ToJsonString(Json);
    }

    internal static string Callback(string workspaceId, string messageId) => workspaceId + " " + messageId;

    internal static (string WorkspaceId, string MessageId)? ParseCallback(string? callback) =>
        callback?.Split(' ') is [{ Length: > 0 } w, var m] && MessageKeys.IsId(m) ? (w, m) : null;
}
