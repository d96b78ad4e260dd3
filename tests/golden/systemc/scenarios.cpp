// Reference logs for tlm's kernel semantics, produced by SystemC 2.3.4
// (Debian libsystemc-dev). Build and regenerate with `sh regenerate.sh`.
// Each line: time in ps, sc_delta_count(), message. Scenarios are staggered
// so that at most one process logs per delta cycle: the order inside a delta
// is implementation-defined in SystemC, the delta and time are not.
#include <systemc.h>
#include <iostream>

static void say(const char* m) {
    std::cout << sc_time_stamp().value() << " " << sc_delta_count() << " " << m << "\n";
}

SC_MODULE(Events) {
    sc_event a, b, c;
    SC_CTOR(Events) { SC_THREAD(waiter); SC_THREAD(notifier); SC_THREAD(lists); }
    void waiter() {
        while (true) { wait(a); say("waiter: a"); }
    }
    void notifier() {
        wait(1, SC_NS); say("notifier: immediate a");
        a.notify();
        wait(1, SC_NS); say("notifier: delta a");
        a.notify(SC_ZERO_TIME);
        wait(1, SC_NS); say("notifier: a at +10 then +5 (earlier wins)");
        a.notify(10, SC_NS); a.notify(5, SC_NS);
        wait(20, SC_NS); say("notifier: a at +5 then delta (delta wins)");
        a.notify(5, SC_NS); a.notify(SC_ZERO_TIME);
        wait(20, SC_NS); say("notifier: a at +5, cancel");
        a.notify(5, SC_NS); a.cancel();
        wait(20, SC_NS); say("notifier: b at +3, c at +7");
        b.notify(3, SC_NS); c.notify(7, SC_NS);
        wait(20, SC_NS); say("notifier: c at +2");
        c.notify(2, SC_NS);
        wait(20, SC_NS); say("notifier: b at +1");
        b.notify(1, SC_NS);
    }
    void lists() {
        wait(60, SC_NS);
        wait(b | c); say("lists: or-list woke");
        wait(b & c); say("lists: and-list woke");
        wait(sc_time(4, SC_NS), b); say(timed_out() ? "lists: timeout" : "lists: b before timeout");
        wait(sc_time(50, SC_NS), b); say(timed_out() ? "lists: timeout" : "lists: b before timeout");
        wait(0, SC_NS); say("lists: after wait(0)");
    }
};

SC_MODULE(Signals) {
    sc_signal<int> s;
    sc_signal<bool> flag;
    SC_CTOR(Signals) : s("s"), flag("flag") {
        SC_THREAD(writer); SC_THREAD(watch_changed); SC_THREAD(watch_pos);
    }
    void writer() {
        wait(300, SC_NS);
        s.write(5);
        std::cout << sc_time_stamp().value() << " " << sc_delta_count() << " writer: read after write " << s.read() << "\n";
        wait(SC_ZERO_TIME);
        std::cout << sc_time_stamp().value() << " " << sc_delta_count() << " writer: read next delta " << s.read() << "\n";
        s.write(5);  // same value: no event
        wait(10, SC_NS);
        flag.write(true);
        wait(10, SC_NS);
        flag.write(false);
    }
    void watch_changed() {
        while (true) { wait(s.value_changed_event()); say("watch: s changed"); }
    }
    void watch_pos() {
        while (true) { wait(flag.posedge_event()); say("watch: flag posedge"); }
    }
};

SC_MODULE(Fifos) {
    sc_fifo<int> f;
    SC_CTOR(Fifos) : f("f", 2) { SC_THREAD(proc); SC_THREAD(consumer); }
    void show(const char* m) {
        std::cout << sc_time_stamp().value() << " " << sc_delta_count() << " " << m
                  << " avail=" << f.num_available() << " free=" << f.num_free() << "\n";
    }
    void proc() {
        wait(400, SC_NS);
        f.nb_write(1); show("fifo: wrote 1");
        f.nb_write(2); show("fifo: wrote 2");
        wait(SC_ZERO_TIME); show("fifo: next delta");
        int x; f.nb_read(x); show("fifo: read one");
        wait(SC_ZERO_TIME); show("fifo: next delta");
        for (int i = 3; i < 7; i++) { f.write(i); show("fifo: blocking write done"); }
    }
    void consumer() {
        wait(410, SC_NS);
        for (int i = 0; i < 5; i++) {
            int x = f.read();
            std::cout << sc_time_stamp().value() << " " << sc_delta_count() << " consumer: got " << x << "\n";
            wait(5, SC_NS);
        }
    }
};

SC_MODULE(Clocked) {
    sc_clock clk;
    int n;
    SC_CTOR(Clocked) : clk("clk", 10, SC_NS), n(0) {
        SC_METHOD(on_pos); sensitive << clk.posedge_event(); dont_initialize();
        SC_METHOD(once); sensitive << clk.negedge_event();
    }
    void on_pos() {
        if (sc_time_stamp() < sc_time(30, SC_NS)) say("clocked: posedge");
        else if (sc_time_stamp() > sc_time(500, SC_NS) && sc_time_stamp() < sc_time(530, SC_NS)) say("clocked: posedge");
    }
    void once() {
        n++;
        if (n <= 2) say("clocked: negedge-or-init");
    }
};

int sc_main(int, char*[]) {
    Events ev("ev");
    Signals sg("sg");
    Fifos ff("ff");
    Clocked ck("ck");
    sc_start(600, SC_NS);
    std::cout << sc_time_stamp().value() << " end\n";
    return 0;
}
