package asymbp.cli;

import asymbp.backend.BackendProvider;
import asymbp.backend.BackendUnavailableException;
import asymbp.backend.Backends;
import picocli.CommandLine;
import picocli.CommandLine.Command;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;

/** Lists every backend's devices, or the one line saying why it is unavailable. */
@Command(name = "devices", mixinStandardHelpOptions = true,
        description = "List the devices of every backend (cpu, opencl, cuda), or why a backend is unavailable.")
public final class DevicesCommand implements Callable<Integer> {

    @CommandLine.Spec CommandLine.Model.CommandSpec spec;

    @Override public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        for (String name : Backends.NAMES) {
            try {
                BackendProvider p = Backends.provider(name);
                List<String> devices = p.devices();
                if (devices.isEmpty()) out.println(name + ": no devices");
                for (int i = 0; i < devices.size(); i++) out.println(name + " --device " + i + ": " + devices.get(i));
            } catch (BackendUnavailableException e) {
                out.println(name + ": unavailable: " + Main.oneLine(e));
            } catch (RuntimeException | LinkageError e) {
                out.println(name + ": unavailable: " + Main.oneLine(e));
            }
        }
        out.flush();
        return Main.OK;
    }
}
