using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Aisoule.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using StandardWebhooks;
using Xunit;

namespace Aisoule.Tests.Webhooks;

internal static class WebhookHelpers
{
    /// <summary>A host whose webhooks may reach loopback (Development only), with a quick retry schedule and timeout.</summary>
    public static Task<TestHost> StartAsync(IDictionary<string, string?>? more = null, Action<Microsoft.Extensions.DependencyInjection.IServiceCollection>? services = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["environment"] = "Development",
            ["Webhooks:AllowPrivateTargets"] = "true",
            ["Webhooks:Timeout"] = "00:00:02",
            ["Webhooks:RetrySchedule:0"] = "00:00:01",
            ["Webhooks:RetrySchedule:1"] = "00:00:01",
            ["Webhooks:RetrySchedule:2"] = "00:00:01",
        };
        foreach (var (k, v) in more ?? new Dictionary<string, string?>())
        {
            settings[k] = v;
        }

        return TestHost.StartAsync(settings, services: services);
    }

    public static async Task<(string Id, string Secret)> SubscribeAsync(KeyClient api, string url, params string[] events)
    {
        var created = await Envelope.SuccessAsync(await api.PostAsync("webhooks", new { url, events }), HttpStatusCode.Created);
        return (created.GetProperty("id").GetString()!, created.GetProperty("secret").GetString()!);
    }

    public static async Task<string> ContactAsync(KeyClient api, object? body = null) =>
        (await Envelope.SuccessAsync(await api.PostAsync("contacts", body ?? new { phone_number = Messaging.Sender.NewPhone(), name = "Pablo" }), HttpStatusCode.Created)).GetProperty("id").GetString()!;

    /// <summary>
    /// Checks a delivery's Standard Webhooks signature with the StandardWebhooks package (code we did not write). During a
    /// rotation the header holds two signatures; the package (1.1.2) reads only the first of a list correctly (past the
    /// first it compares against the whole header), so each signature is given to it on its own and one must verify.
    /// </summary>
    public static void VerifyStandard(string secret, WebhookReceiver.Received request)
    {
        var failures = new List<Exception>();
        foreach (var signature in request.Header("webhook-signature").Split(' '))
        {
            var headers = new HeaderDictionary
            {
                ["webhook-id"] = request.Header("webhook-id"),
                ["webhook-timestamp"] = request.Header("webhook-timestamp"),
                ["webhook-signature"] = signature,
            };
            try
            {
                new StandardWebhook(secret).Verify(request.Text, headers);
                return;
            }
            catch (StandardWebhooks.Diagnostics.WebhookVerificationException ex)
            {
                failures.Add(ex);
            }
        }

        throw new AggregateException("No signature in the header verifies with this secret.", failures);
    }

    /// <summary>The hex HMAC-SHA256 of a body keyed with the secret string's UTF-8 bytes, computed by Node's crypto (not ours).</summary>
    public static async Task<string> NodeHexAsync(string secret, byte[] body)
    {
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-e");
        start.ArgumentList.Add("let c=[];process.stdin.on('data',d=>c.push(d)).on('end',()=>process.stdout.write(require('crypto').createHmac('sha256',process.argv[1]).update(Buffer.concat(c)).digest('hex')))");
        start.ArgumentList.Add(secret);
        using var node = Process.Start(start)!;
        await node.StandardInput.BaseStream.WriteAsync(body);
        node.StandardInput.Close();
        var hex = await node.StandardOutput.ReadToEndAsync();
        await node.WaitForExitAsync();
        Assert.Equal(0, node.ExitCode);
        return hex;
    }

    public static JsonElement Json(WebhookReceiver.Received request) => JsonDocument.Parse(request.Body).RootElement.Clone();

    public static async Task<JsonElement> AttemptsAsync(KeyClient api, string id) =>
        (await Envelope.SuccessAsync(await api.GetAsync($"webhooks/{id}/deliveries?per_page=100"))).GetProperty("deliveries");

    /// <summary>Waits until the webhook's deliveries list satisfies <paramref name="done"/>.</summary>
    public static async Task<JsonElement> WaitForAttemptsAsync(KeyClient api, string id, Func<JsonElement, bool> done, double seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            var attempts = await AttemptsAsync(api, id);
            if (done(attempts))
            {
                return attempts;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("Deliveries never got there: " + attempts);
            }

            await Task.Delay(100);
        }
    }
}
