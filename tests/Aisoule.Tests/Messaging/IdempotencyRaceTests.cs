using System.Net;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>
/// Two requests with one Idempotency-Key and body, the first one slow: the second waits for it, then finishes the send
/// under the same message id. Whatever the first one then meets, the caller gets one message, sent once. Slowness is
/// real: the first request's write is held in <see cref="LossyTableProxy"/> before it reaches Azurite.
/// </summary>
public sealed class IdempotencyRaceTests : IAsyncLifetime
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(9);
    private FakeGraphApi _graph = null!;
    private LossyTableProxy _proxy = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _proxy = await LossyTableProxy.StartAsync();
        _host = await TestHost.StartAsync(_graph.Settings(), connectionString: _proxy.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _proxy.DisposeAsync();
        await _graph.DisposeAsync();
    }

    [Fact]
    public async Task A_slow_first_request_that_finds_its_message_stored_by_the_duplicate_answers_that_message_not_a_conflict()
    {
        var sender = await Sender.CloudAsync(_host);
        var (phone, key) = (Sender.NewPhone(), "slow-insert-" + Guid.NewGuid().ToString("N"));
        var held = _proxy.Hold((method, path, body) => LossyTableProxy.IsBatch(method, path) && body.Contains("\"PayloadJson\"", StringComparison.Ordinal), Slow);

        var first = sender.SendTemplateAsync(phone, idempotencyKey: key);
        await held;
        var second = await sender.SendTemplateAsync(phone, idempotencyKey: key);
        var firstAnswer = await first;

        var id = await Sender.AcceptedIdAsync(second);
        Assert.Equal(id, await Sender.AcceptedIdAsync(firstAnswer));
        Assert.Equal("true", firstAnswer.Headers.TryGetValues("Idempotent-Replayed", out var replayed) ? replayed.Single() : null);
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent", "delivered", "read"), "sent");
        Assert.Equal(1, _graph.DeliveredPerMessage.GetValueOrDefault(id));
    }

    [Fact]
    public async Task A_slow_first_request_failing_after_the_duplicate_finished_keeps_the_key_so_a_third_retry_replays_and_nothing_is_sent_twice()
    {
        var sender = await Sender.CloudAsync(_host);
        var (phone, key) = (Sender.NewPhone(), "slow-fail-" + Guid.NewGuid().ToString("N"));
        var held = _proxy.Hold((_, path, _) => path.Contains("pendingsends", StringComparison.Ordinal), Slow, refuse: true);

        var first = sender.SendTemplateAsync(phone, idempotencyKey: key);
        await held;
        var second = await sender.SendTemplateAsync(phone, idempotencyKey: key);
        var firstAnswer = await first;
        var third = await sender.SendTemplateAsync(phone, idempotencyKey: key);

        var id = await Sender.AcceptedIdAsync(second);
        await Envelope.ErrorAsync(firstAnswer, HttpStatusCode.ServiceUnavailable, "storage_unavailable");
        Assert.Equal(id, await Sender.AcceptedIdAsync(third));
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent", "delivered", "read"), "sent");
        Assert.Single(_graph.Sends, s => s.Wamid is not null && s.Body.GetProperty("to").GetString() == phone.TrimStart('+'));
    }
}
