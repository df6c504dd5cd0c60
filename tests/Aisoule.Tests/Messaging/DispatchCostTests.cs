using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Messaging;

/// <summary>
/// What dispatching costs storage, counted on the wire: messages accepted by one instance (dispatcher off) are
/// dispatched by a second whose table traffic goes through <see cref="LossyTableProxy"/>, which sees every request.
/// </summary>
public sealed class DispatchCostTests : IAsyncLifetime
{
    private const int Count = 12;
    private FakeGraphApi _graph = null!;
    private LossyTableProxy _proxy = null!;
    private TestHost _accepting = null!;

    public async Task InitializeAsync()
    {
        _graph = await FakeGraphApi.StartAsync();
        _proxy = await LossyTableProxy.StartAsync();
        _accepting = await TestHost.StartAsync(new Dictionary<string, string?>(_graph.Settings()) { ["AzureWebJobs.DispatchSend.Disabled"] = "true" });
    }

    public async Task DisposeAsync()
    {
        await _accepting.DisposeAsync();
        await _proxy.DisposeAsync();
        await _graph.DisposeAsync();
    }

    [Fact]
    public async Task A_dispatched_message_costs_three_table_writes_claim_wamid_pointer_and_sent_and_no_read_of_its_row()
    {
        var sender = await Sender.CloudAsync(_accepting);
        var ids = new List<string>();
        for (var i = 0; i < Count; i++)
        {
            ids.Add(await Sender.AcceptedIdAsync(await sender.SendTemplateAsync(Sender.NewPhone())));
        }

        await using (var dispatching = await TestHost.StartAsync(_graph.Settings(), connectionString: _proxy.ConnectionString, prefix: _accepting.Prefix))
        {
            foreach (var id in ids)
            {
                await sender.MessageWhenAsync(id, Sender.StatusIs("sent"), "sent by the second instance");
            }
        }

        var requests = _proxy.Requests.ToList();
        Assert.Equal(0, requests.Count(r => r.Method == "GET" && r.Path.Contains("messages(", StringComparison.Ordinal) && r.Path.Contains("m_", StringComparison.Ordinal)));
        Assert.Equal(Count, requests.Count(r => LossyTableProxy.IsBatch(r.Method, r.Path) && r.Body.Contains("\"Status\":\"sending\"", StringComparison.Ordinal)));
        Assert.Equal(Count, requests.Count(r => LossyTableProxy.IsBatch(r.Method, r.Path) && r.Body.Contains("\"Status\":\"sent\"", StringComparison.Ordinal)));
        Assert.Equal(Count, requests.Count(r => r.Method != "GET" && r.Path.Contains("wamids(", StringComparison.Ordinal)));
        Assert.All(ids, id => Assert.Equal(1, _graph.DeliveredPerMessage.GetValueOrDefault(id)));
    }
}
