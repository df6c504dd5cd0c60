using System.Net;
using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>
/// A write that landed but whose answer was lost: the storage client retries it and the retry meets the write itself
/// (412 on an ETag-guarded change, 409 on an insert). Each transition reads the row back and counts "already in the
/// state I wrote" as done, so no message is left stranded or sent twice. Tables go through <see cref="LossyTableProxy"/>.
/// </summary>
public sealed class AmbiguousWriteTests : IAsyncLifetime
{
    private FakeGraphApi _graph = null!;
    private LossyTableProxy _proxy = null!;
    private TestHost _host = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _proxy = await LossyTableProxy.StartAsync();
        _host = await TestHost.StartAsync(
            new Dictionary<string, string?>(_graph.Settings()) { ["WhatsApp:RetryDelay"] = "00:00:00.100" },
            connectionString: _proxy.ConnectionString);
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        await _proxy.DisposeAsync();
        await _graph.DisposeAsync();
    }

    [Fact]
    public async Task A_claim_whose_answer_was_lost_is_recognised_as_this_dispatchers_and_the_message_is_sent_once()
    {
        var sender = await Sender.CloudAsync(_host);
        _proxy.LoseAnswer((method, path, body) => LossyTableProxy.IsBatch(method, path) && body.Contains("\"Status\":\"sending\"", StringComparison.Ordinal));

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        await sender.MessageWhenAsync(id, Sender.StatusIs("sent", "delivered", "read"), "sent despite the lost claim answer");
        Assert.Equal(1, _proxy.Lost);
        Assert.Equal(1, _graph.DeliveredPerMessage.GetValueOrDefault(id));
    }

    [Fact]
    public async Task A_requeue_whose_answer_was_lost_still_puts_the_message_back_on_the_queue_and_it_is_sent()
    {
        var sender = await Sender.CloudAsync(_host);
        var calls = 0;
        _graph.OnSend = (_, _) => Interlocked.Increment(ref calls) == 1 ? FakeGraphApi.Reply.ServerError() : FakeGraphApi.Reply.Ok();
        _proxy.LoseAnswer((method, path, body) => LossyTableProxy.IsBatch(method, path) && body.Contains("\"Status\":\"queued\"", StringComparison.Ordinal) && body.Contains("\"Failures\":1", StringComparison.Ordinal));

        var id = await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone()));

        var sent = await sender.MessageWhenAsync(id, Sender.StatusIs("sent", "delivered", "read"), "sent on the attempt after the lost requeue answer");
        Assert.Equal(1, _proxy.Lost);
        Assert.Equal(2, calls);
        Assert.Equal(1, _graph.DeliveredPerMessage.GetValueOrDefault(id));
        Assert.Equal(id, sent.GetProperty("message_id").GetString());
    }

    [Fact]
    public async Task A_send_whose_insert_answer_was_lost_answers_202_and_is_sent_once_without_waiting_for_the_sweeper()
    {
        var sender = await Sender.CloudAsync(_host);
        _proxy.LoseAnswer((method, path, body) => LossyTableProxy.IsBatch(method, path) && body.Contains("\"PayloadJson\"", StringComparison.Ordinal) && body.Contains("\"Status\":\"queued\"", StringComparison.Ordinal));

        var response = await sender.SendTemplateAsync(Sender.NewPhone());

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var id = await Sender.AcceptedIdAsync(response);
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent", "delivered", "read"), "sent right away (the sweeper waits two minutes)");
        Assert.Equal(1, _proxy.Lost);
        Assert.Equal(1, _graph.DeliveredPerMessage.GetValueOrDefault(id));
    }

    [Fact]
    public async Task A_keyed_send_whose_insert_answer_was_lost_answers_202_and_its_retry_replays_the_same_message()
    {
        var sender = await Sender.CloudAsync(_host);
        var phone = Sender.NewPhone();
        var key = "lost-insert-" + Guid.NewGuid().ToString("N");
        _proxy.LoseAnswer((method, path, body) => LossyTableProxy.IsBatch(method, path) && body.Contains("\"PayloadJson\"", StringComparison.Ordinal) && body.Contains("\"Status\":\"queued\"", StringComparison.Ordinal));

        var first = await sender.SendTemplateAsync(phone, idempotencyKey: key);
        var retry = await sender.SendTemplateAsync(phone, idempotencyKey: key);

        var id = await Sender.AcceptedIdAsync(first);
        Assert.Equal(id, await Sender.AcceptedIdAsync(retry));
        await sender.MessageWhenAsync(id, Sender.StatusIs("sent", "delivered", "read"), "sent once");
        Assert.Equal(1, _proxy.Lost);
        Assert.Equal(1, _graph.DeliveredPerMessage.GetValueOrDefault(id));
    }
}
