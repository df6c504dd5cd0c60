using Xunit;

namespace Aisoule.Tests.Infrastructure;

/// <summary>
/// Tests that load the machine on purpose (a burst of hundreds of concurrent requests) run in this collection, after
/// the parallel ones and with nothing beside them, so that they neither slow other tests past their timeouts nor are
/// measured on a machine busy with others.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Alone
{
    public const string Name = "Alone";
}
