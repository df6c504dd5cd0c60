using System.Diagnostics.Metrics;
using Aisoule.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Aisoule.Tests.Identity;

/// <summary>
/// Counts the password hashes one host computes for new accounts, read from that host's own metrics (its
/// <see cref="IMeterFactory"/>), so hosts of tests running in parallel never add to each other's count.
/// </summary>
internal sealed class PasswordHashCount : IDisposable
{
    private readonly MeterListener _listener = new();
    private long _count;

    public PasswordHashCount(TestHost host)
    {
        var factory = host.Services.GetRequiredService<IMeterFactory>();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Scope == factory && instrument.Name == "aisoule.identity.password_hashes")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "purpose", Value: "new_account" })
                {
                    Interlocked.Add(ref _count, value);
                }
            }
        });
        _listener.Start();
    }

    public long Value => Interlocked.Read(ref _count);

    public void Dispose() => _listener.Dispose();
}
