using Aisoule.Tests.Infrastructure;
using Xunit;

namespace Aisoule.Tests.Webhooks;

/// <summary>Each test gets a host whose webhooks may reach loopback (<see cref="WebhookHelpers.StartAsync"/>) and a receiver of its own.</summary>
public abstract class WebhookTestBase : IAsyncLifetime
{
    internal TestHost Host { get; private set; } = null!;

    internal WebhookReceiver Receiver { get; private set; } = null!;

    /// <summary>Settings beyond <see cref="WebhookHelpers.StartAsync"/>'s.</summary>
    protected virtual IDictionary<string, string?>? Settings => null;

    public async Task InitializeAsync()
    {
        Host = await WebhookHelpers.StartAsync(Settings);
        Receiver = await WebhookReceiver.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Receiver.DisposeAsync();
        await Host.DisposeAsync();
    }
}
