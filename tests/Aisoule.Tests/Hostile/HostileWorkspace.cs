using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Aisoule.Tests.Infrastructure;
using Aisoule.Tests.Messaging;
using Xunit;

namespace Aisoule.Tests.Hostile;

/// <summary>
/// One host and one workspace for the whole suite: its owner's session (with CSRF), several all-scope API keys (so
/// the suite's parallel requests are not serialised on one key's rate-limit row), and a contact, a message and an
/// account for real ids. <see cref="SnapshotAsync"/> is what must not change when a request is refused.
/// </summary>
public sealed class HostileWorkspace : IAsyncLifetime
{
    /// <summary>The suite and its known failures share one workspace (and so run one after the other).</summary>
    public const string Collection = "Hostile input";

    private const int KeyCount = 10;
    private int _next;

    internal TestHost Host { get; private set; } = null!;

    internal Account Owner { get; private set; } = null!;

    internal string[] Keys { get; private set; } = [];

    internal string ContactId { get; private set; } = "";

    internal string MessageId { get; private set; } = "";

    internal string AccountId { get; private set; } = "";

    internal string KeyId { get; private set; } = "";

    /// <summary>A number that wrote in the last 24 hours, so text sends to it get past the window check.</summary>
    internal string WindowPhone { get; private set; } = "";

    /// <summary>Sends bytes as given: no header validation, UTF-8 header values, no cookies of its own.</summary>
    internal HttpClient Raw { get; private set; } = null!;

    public static string NewPhone() => "+1212" + Random.Shared.Next(2_000_000, 9_999_999).ToString(System.Globalization.CultureInfo.InvariantCulture);

    public async Task InitializeAsync()
    {
        Host = await TestHost.StartAsync();
        Raw = new HttpClient(new SocketsHttpHandler { UseCookies = false, RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8, AllowAutoRedirect = false })
        {
            BaseAddress = Host.Client.BaseAddress,
        };
        var sender = await Sender.SandboxAsync(Host);
        Owner = sender.Owner;
        Keys = [sender.Key, .. await Task.WhenAll(Enumerable.Range(1, KeyCount - 1).Select(i => Owner.CreateKeyAsync("hostile " + i)))];
        KeyId = (await Owner.CreateKeyDataAsync("spare")).GetProperty("id").GetString()!;
        AccountId = sender.AccountId;
        var contact = await Envelope.SuccessAsync(
            await sender.Api.PostAsync("contacts", new { phone_number = NewPhone(), name = "Seed", tags = new[] { "vip" }, stage = "lead", custom_fields = new { plan = "gold" } }),
            HttpStatusCode.Created);
        ContactId = contact.GetProperty("id").GetString()!;
        MessageId = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(NewPhone()));
        WindowPhone = NewPhone();
        await sender.InboundFromAsync(WindowPhone);

        // The seed message's statuses arrive on their own; the snapshot must be still before the suite starts.
        await sender.MessageWhenAsync(MessageId, Sender.StatusIs("read"), "seed message read");
    }

    public async Task DisposeAsync()
    {
        Raw.Dispose();
        await Host.DisposeAsync();
    }

    internal string RealId(string route) => route.Split('/')[0] switch
    {
        "contacts" => ContactId,
        "messages" => MessageId,
        "accounts" => AccountId,
        "keys" => KeyId,
        _ => "zz-not-an-id",
    };

    /// <summary>Contacts, messages, keys and accounts as the API lists them, without what every request changes.</summary>
    internal async Task<string> SnapshotAsync()
    {
        var parts = await Task.WhenAll(
            GetDataAsync("contacts?per_page=100", session: false),
            GetDataAsync("messages?per_page=100", session: false),
            GetDataAsync("keys", session: true),
            GetDataAsync("accounts", session: false),
            GetDataAsync("campaigns?per_page=100", session: false));
        // A message accepted earlier moves on by itself (queued, sending, sent, delivered, read).
        foreach (var message in parts[1]["messages"]!.AsArray())
        {
            foreach (var field in new[] { "status", "wamid", "error", "sent_at", "delivered_at", "read_at" })
            {
                message!.AsObject().Remove(field);
            }
        }

        // A campaign accepted earlier runs by itself too.
        foreach (var campaign in parts[4]["campaigns"]!.AsArray())
        {
            foreach (var field in new[] { "status", "stats", "started_at", "completed_at", "messaging_limit", "skipped_by_reason" })
            {
                campaign!.AsObject().Remove(field);
            }
        }

        foreach (var key in parts[2]["keys"]!.AsArray())
        {
            key!.AsObject().Remove("last_used_at");
            key.AsObject().Remove("request_count");
        }

        return string.Join('\n', parts.Select(p => p.ToJsonString()));
    }

    private async Task<JsonNode> GetDataAsync(string path, bool session)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (session)
        {
            request.Headers.Add("Cookie", Owner.Cookie);
        }
        else
        {
            request.Headers.Add("X-API-Key", NextKey());
        }

        using var response = await Raw.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"snapshot GET {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!["data"]!;
    }

    private string NextKey() => Keys[Interlocked.Increment(ref _next) % Keys.Length];

    /// <summary>Sends one case and checks its answer; returns a failure description, or null when it was answered well.</summary>
    internal async Task<Answer> SendAsync(HostileCase c)
    {
        using var request = new HttpRequestMessage(new HttpMethod(c.Method), new Uri(Raw.BaseAddress + c.Path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));
        if (c.Body is not null)
        {
            request.Content = new ByteArrayContent(c.Body);
            if (c.ContentType is not null)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
            }
        }

        if (!c.OwnCredentials)
        {
            if (c.Auth == Auth.Key)
            {
                request.Headers.Add("X-API-Key", NextKey());
            }
            else if (c.Auth == Auth.Session)
            {
                request.Headers.Add("Cookie", Owner.Cookie);
                if (!c.Headers.ContainsKey("X-CSRF-Token"))
                {
                    request.Headers.Add("X-CSRF-Token", Owner.CsrfToken);
                }
            }
        }

        foreach (var (name, value) in c.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (c.Sign)
        {
            var signature = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(MetaWebhook.AppSecret), c.Body ?? []));
            request.Headers.TryAddWithoutValidation("X-Hub-Signature-256", signature);
        }

        using var response = await Raw.SendAsync(request);
        var body = await response.Content.ReadAsByteArrayAsync();
        var answer = Answer.Check(c, response, body);
        if (answer.Status >= 500 && response.Headers.TryGetValues("X-Request-Id", out var ids))
        {
            // What the server logged for it: the exception's type and message, to say where it broke.
            var id = ids.First();
            var logged = Host.Logs.Entries.FirstOrDefault(e => e.Exception is not null && e.Scopes.Any(s => s.Contains(id, StringComparison.Ordinal)));
            answer = answer with { Problem = answer.Problem + $"\n      server: {logged?.Exception?.GetType().Name}: {logged?.Exception?.Message}" };
        }

        return answer;
    }
}

/// <summary>How one case was answered, and what was wrong with the answer.</summary>
internal sealed record Answer(HostileCase Case, int Status, string? Problem)
{
    /// <summary>Not accepted: a 4xx (or a 5xx, which must not have written anything either), or a bulk that wrote nothing.</summary>
    public bool Refused => Status >= 400 || WroteNothing;

    /// <summary>A bulk answer that reports every item failed: the refusal of a bulk request.</summary>
    public bool WroteNothing { get; init; }

    public static Answer Check(HostileCase c, HttpResponseMessage response, byte[] body)
    {
        var status = (int)response.StatusCode;
        var wroteNothing = status == 200 && WroteNothingIn(body);
        var text = Encoding.UTF8.GetString(body);
        var shown = text.Length > 300 ? text[..300] + "…" : text;
        string? problem = null;
        if (status >= 500)
        {
            problem = $"answered {status}: {shown}";
        }
        else if (c.Expect == Expect.Refused && status is < 400 or >= 500 && !wroteNothing)
        {
            problem = $"should be refused with a 4xx, answered {status}: {shown}";
        }
        else if (!response.Headers.Contains("X-Request-Id"))
        {
            problem = $"answered {status} without X-Request-Id: {shown}";
        }
        else if (body.Length == 0)
        {
            problem = $"answered {status} with an empty body";
        }
        else if (status < 300 && EndpointSpec.All.TryGetValue(c.Function, out var spec) && spec.Raw)
        {
            // A document or a page, as documented; nothing to check beyond the request id and a body.
        }
        else if (response.Content.Headers.ContentType?.MediaType != "application/json")
        {
            problem = $"answered {status} as {response.Content.Headers.ContentType}: {shown}";
        }
        else
        {
            problem = EnvelopeProblem(status, body, shown);
        }

        return new Answer(c, status, problem) { WroteNothing = wroteNothing };
    }

    private static bool WroteNothingIn(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("data", out var data) && data.ValueKind == JsonValueKind.Object
                && data.TryGetProperty("created", out var created) && created.GetInt32() == 0
                && data.TryGetProperty("updated", out var updated) && updated.GetInt32() == 0
                && data.TryGetProperty("failed", out var failed) && failed.GetArrayLength() > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? EnvelopeProblem(int status, byte[] body, string shown)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            var expected = status >= 400 ? "error" : "success";
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("status", out var s) || s.GetString() != expected)
            {
                return $"answered {status} without status \"{expected}\": {shown}";
            }

            if (status >= 400 && (!root.TryGetProperty("code", out var code) || string.IsNullOrEmpty(code.GetString())
                || !root.TryGetProperty("message", out var message) || string.IsNullOrEmpty(message.GetString())))
            {
                return $"answered {status} without a code and message: {shown}";
            }

            return null;
        }
        catch (JsonException)
        {
            return $"answered {status} with a body that is not JSON: {shown}";
        }
    }
}

/// <summary>One <see cref="HostileWorkspace"/> for every class of the hostile-input suite.</summary>
[CollectionDefinition(HostileWorkspace.Collection)]
public sealed class HostileSuiteDefinition : ICollectionFixture<HostileWorkspace>;
